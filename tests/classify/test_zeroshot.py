"""Zero-shot proposals from the codebook alone, and the multi-label output shape, with the real MiniLM."""

from __future__ import annotations

import numpy as np
import pytest

from transcode.classify.active import order_queue, uncertainty, uncertainty_order
from transcode.classify.zeroshot import ZeroShotClassifier, proposals_from_scores, suggestion_mask

CLEAR = [
    (
        "Honestly I felt awful, anxious and guilty, my heart was pounding and I doubted I was any good.",
        "How did you feel when it happened?",
        "therapist_reactions",
    ),
    (
        "My supervisor watched the session video with me and we role-played what I could say next time.",
        "Did you talk about this in supervision? What was that like?",
        "supervision",
    ),
    (
        "She went completely quiet, stopped looking at me, and then told me therapy was a waste of her time.",
        "Describe the rupture. What happened between you and the client?",
        "rupture_markers",
    ),
    (
        "I named what had happened between us, apologised, and asked how the last session had felt for her.",
        "What did you do in response?",
        "repair_actions",
    ),
]


@pytest.fixture(scope="module")
def zeroshot(demo_codebook, encoder):
    return ZeroShotClassifier(demo_codebook, encoder)


def test_zero_shot_ranks_the_right_domain_first_on_clear_units(zeroshot):
    proposals = zeroshot.propose([t for t, _, _ in CLEAR], [q for _, q, _ in CLEAR])
    assert [p.scores[0][0] for p in proposals] == [d for _, _, d in CLEAR]
    for proposal, (_, _, domain) in zip(proposals, CLEAR, strict=True):
        assert domain in proposal.suggested


def test_content_alone_still_finds_the_domain_without_a_question(zeroshot):
    text, _, domain = CLEAR[1]
    (proposal,) = zeroshot.propose([text], [None])
    assert proposal.scores[0][0] == domain


def test_the_answer_overrides_an_unrelated_question(zeroshot):
    """Asked about the client's background, the participant talks about supervision."""
    text = (
        "What really helped was my supervisor: she watched the recording with me in supervision "
        "and we practised it in a role play with my training group."
    )
    (with_question,) = zeroshot.propose(
        [text], ["What was the therapy relationship like before this happened?"]
    )
    assert with_question.scores[0][0] == "supervision"


def test_every_domain_is_ranked_and_scores_are_probabilities(zeroshot, demo_codebook):
    (proposal,) = zeroshot.propose([CLEAR[0][0]], [CLEAR[0][1]])
    record = proposal.as_contract()
    assert [p["domain"] for p in record["proposals"]] != []
    assert sorted(p["domain"] for p in record["proposals"]) == sorted(demo_codebook.domain_ids)
    scores = [p["score"] for p in record["proposals"]]
    assert scores == sorted(scores, reverse=True)
    assert abs(sum(s for _, s in proposal.scores) - 1) < 1e-6


def test_suggested_may_hold_several_domains_or_none():
    domains = ["a", "b", "c"]
    scores = np.array([[0.45, 0.40, 0.15], [0.34, 0.33, 0.33], [0.9, 0.05, 0.05]])
    several, none, one = proposals_from_scores(scores, domains, "v")
    assert several.suggested == ("a", "b")
    assert none.suggested == ()
    assert one.suggested == ("a",)
    thresholded = proposals_from_scores(scores, domains, "v", thresholds=[0.5, 0.3, 0.3])
    assert [p.suggested for p in thresholded] == [("b",), ("b", "c"), ("a",)]
    assert suggestion_mask(scores, [0.5, 0.3, 0.3]).sum() == 4


def test_uncertainty_puts_close_calls_first():
    scores = np.array([[0.9, 0.05, 0.05], [0.4, 0.35, 0.25], [0.6, 0.3, 0.1]])
    assert uncertainty_order(scores, "margin") == [1, 2, 0]
    assert uncertainty_order(scores, "entropy") == [1, 2, 0]
    assert uncertainty_order(scores, "threshold", thresholds=[0.5, 0.5, 0.5]) == [1, 2, 0]
    proposals = proposals_from_scores(scores, ["a", "b", "c"], "v")
    assert order_queue(["u1", "u2", "u3"], proposals, ["a", "b", "c"]) == ["u2", "u3", "u1"]
    with pytest.raises(ValueError):
        uncertainty(scores, "threshold")
