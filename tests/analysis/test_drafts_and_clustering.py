"""Machine drafts of core ideas and category proposals: behaviour on small handmade inputs."""

from __future__ import annotations

import numpy as np
import pytest

from transcode.analysis.clustering import key_terms, propose_categories, suggest_category
from transcode.analysis.drafts import DRAFT_LABEL, clean, draft_core_idea, sentences


@pytest.mark.parametrize(
    ("spoken", "written"),
    [
        (
            "Um, so she, she went quiet [laughs] and, you know, looked away.",
            "She went quiet and looked away.",
        ),
        ("And I said, uh, I'm sorry. Hmm.", "I said, I'm sorry."),
        ("It was, like, really hard for me.", "It was really hard for me."),
        (
            "I emailed [PERSON_1] at [EMAIL_1] [pause] the next day.",
            "I emailed [PERSON_1] at [EMAIL_1] the next day.",
        ),
        ("I felt like a child next to her.", "I felt like a child next to her."),
    ],
)
def test_clean_strips_hesitations_and_annotations_but_keeps_words_and_placeholders(spoken, written):
    assert clean(spoken) == written


def test_sentences_drop_fragments():
    assert sentences("Yeah. Which, fair. She cancelled the next session by email.") == [
        "She cancelled the next session by email."
    ]


UNITS = [
    ("u1", "Um, she went quiet and gave me short answers for the rest of the session."),
    ("u2", "[pause] She went quiet, she looked at the floor, and her answers got really short."),
    ("u3", "The parking at the clinic was terrible that winter."),
    ("u4", "And then she stopped answering, just short answers, and she went quiet."),
]


def test_tfidf_draft_picks_the_central_sentences_in_order_and_says_it_is_a_draft():
    draft = draft_core_idea(UNITS, max_sentences=2)
    assert draft.label == DRAFT_LABEL and "draft" in draft.label
    assert draft.method == "tfidf"
    assert "parking" not in draft.text
    assert len(draft.sentences) == 2
    assert list(draft.units) == sorted(draft.units)  # transcript order is kept
    assert "Um" not in draft.text and "[pause]" not in draft.text


def test_embedding_draft_uses_the_encoder(encoder):
    draft = draft_core_idea(UNITS, max_sentences=1, encode=encoder.encode)
    assert draft.method == "embedding"
    assert draft.units[0] in {"u1", "u2", "u4"}


def test_draft_needs_units():
    with pytest.raises(ValueError):
        draft_core_idea([])


GROUPS = {
    "anger": [
        "The client angrily accused the therapist of being too young to help.",
        "The client raised his voice and criticised the therapy as useless.",
        "The client confronted the therapist with anger about the homework.",
    ],
    "supervision": [
        "The supervisor helped the therapist plan how to raise the rupture.",
        "In supervision the therapist watched the video and role-played an apology.",
        "The supervisor was supportive and told the therapist that mistakes are normal.",
    ],
    "body": [
        "The therapist felt their heart pounding and their face go hot.",
        "The therapist's hands shook and their stomach dropped.",
        "The therapist's hands went ice cold and their pulse raced.",
    ],
}


def test_clustering_proposes_the_handmade_groups(encoder):
    texts = [t for group in GROUPS.values() for t in group]
    truth = [name for name, group in GROUPS.items() for _ in group]
    proposals = propose_categories(texts, encoder.encode(texts))
    assert len(proposals) == 3
    for proposal in proposals:
        assert len({truth[i] for i in proposal.members}) == 1, proposal
        assert proposal.terms and proposal.name == " / ".join(proposal.terms)
        assert "therapist" not in proposal.terms
    fixed = propose_categories(texts, encoder.encode(texts), n_clusters=2)
    assert len(fixed) == 2


def test_key_terms_prefer_words_that_set_a_cluster_apart():
    texts = [
        "supervisor supervision video",
        "supervisor role play",
        "angry shouting client",
        "angry raised voice",
    ]
    terms = key_terms(texts, [0, 0, 1, 1], top_n=1)
    assert terms == {0: ["supervisor"], 1: ["angry"]}


def test_suggest_category_ranks_by_centroid_similarity(encoder):
    members = {name: encoder.encode(group) for name, group in GROUPS.items()}
    ranked = suggest_category(
        encoder.encode(["His voice got loud and he called the therapy pointless."])[0], members
    )
    assert ranked[0].category == "anger"
    assert ranked[0].score > ranked[1].score
    identical = suggest_category(
        np.array([1.0, 0.0]), {"a": np.array([[2.0, 0.0]]), "b": np.array([[0.0, 1.0]])}
    )
    assert [(s.category, s.score) for s in identical] == [("a", 1.0), ("b", 0.0)]
