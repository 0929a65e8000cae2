"""Zero-shot proposals from the codebook alone, the sequence layer over a case, with the real MiniLM."""

from __future__ import annotations

import numpy as np
import pytest

from transcode.classify import CaseUnits, Proposer, propose_units
from transcode.classify.active import order_queue, uncertainty, uncertainty_order
from transcode.classify.proposer import proposals_from_scores, zero_shot

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

#: A protocol question, a neutral probe, the next protocol question (paraphrased, as in a paper).
FLOW = CaseUnits(
    texts=(
        "Yes, the next day. My supervisor watched the recording with me and we talked it through.",
        "It took most of the hour. We went through the whole thing minute by minute, and she kept "
        "asking what I had noticed.",
        "He came back the following week and we picked up where we had left off, and he finished treatment.",
    ),
    questions=(
        "Did you bring this to your supervisor, and how did that go?",
        "Can you say more about that?",
        "How did things go with this client after that?",
    ),
    turns=(2, 4, 6),
)


@pytest.fixture(scope="module")
def zeroshot(demo_codebook, encoder):
    return zero_shot(demo_codebook, encoder)


def test_zero_shot_is_a_proposer(zeroshot):
    assert isinstance(zeroshot, Proposer)
    assert zeroshot.version.startswith("zeroshot:")


def test_zero_shot_ranks_the_right_domain_first_on_clear_units(zeroshot):
    suggested = 0
    for text, question, domain in CLEAR:
        for sequence in (True, False):
            (proposal,) = zeroshot.propose(CaseUnits.unordered([text], [question]), sequence=sequence)
            assert proposal.scores[0][0] == domain
            suggested += proposal.suggested == (domain,)
    assert suggested >= 6  # one key accepts most of them as they stand


def test_content_alone_still_finds_the_domain_without_a_question(zeroshot):
    text, _, domain = CLEAR[1]
    (proposal,) = zeroshot.propose(CaseUnits.unordered([text], [None]))
    assert proposal.scores[0][0] == domain


INTERVIEW = [
    ("She was a graduate student in her late twenties who came in for panic attacks before exams.", 0),
    ("We met weekly at the university counselling centre, fifty minutes, for about three months.", 0),
    ("I felt awful afterwards, anxious and guilty, and I kept doubting whether I was any good at this.", 2),
    ("She stopped coming for two weeks, and when she came back she barely looked at me.", 3),
]
QUESTIONS = [
    "Tell me a little about the client you have in mind.",
    "What was the therapy relationship like before this happened?",
    "How did you feel when it happened?",
    "What happened afterwards with the client?",
]


def interview(extra: tuple[str, str] | None = None) -> CaseUnits:
    """A short interview in protocol order; ``extra`` (answer, question) goes in after the context."""
    rows = [(t, QUESTIONS[q]) for t, q in INTERVIEW]
    if extra:
        rows.insert(2, extra)
    return CaseUnits(
        tuple(t for t, _ in rows), tuple(q for _, q in rows), tuple(range(2, 2 * len(rows) + 2, 2))
    )


def test_a_clear_protocol_question_moves_the_interview_on(zeroshot):
    expected = ["client_context", "client_context", "therapist_reactions", "consequences"]
    for sequence in (True, False):
        scores = zeroshot.score(interview(), sequence=sequence)
        assert [zeroshot.domain_ids[j] for j in scores.argmax(axis=1)] == expected


def test_a_decisive_answer_overrides_a_vague_question(zeroshot):
    """Asked a vague follow-up, the participant talks about supervision: the gate lets the answer win."""
    answer = (
        "What really helped was my supervisor: she watched the recording with me in supervision "
        "and we practised it in a role play with my training group."
    )
    case = interview((answer, "What was that like?"))
    evidence = zeroshot.evidence(case)
    assert evidence.question_weight[2] < 0.8 * evidence.informativeness[2]  # the gate acts...
    assert evidence.question_weight[0] == pytest.approx(evidence.informativeness[0])  # ...only there
    scores = zeroshot.score(case, sequence=False)
    assert zeroshot.domain_ids[scores[2].argmax()] == "supervision"


def test_a_neutral_probe_carries_the_previous_domain(zeroshot):
    probabilities, informativeness = zeroshot.emissions(FLOW)
    assert informativeness[1] < 0.2 < 0.8 < min(informativeness[0], informativeness[2])
    plain = zeroshot.score(FLOW, sequence=False)
    carried = zeroshot.score(FLOW, sequence=True)
    supervision = zeroshot.domain_ids.index("supervision")
    assert plain[1].argmax() != supervision  # on its own the probe's answer says little
    assert carried[1].argmax() == supervision
    # ...and the next protocol question moves the interview on
    assert zeroshot.domain_ids[carried[2].argmax()] == "consequences"


def test_every_domain_is_ranked_and_scores_are_probabilities(zeroshot, demo_codebook):
    (proposal,) = zeroshot.propose(CaseUnits.unordered([CLEAR[0][0]], [CLEAR[0][1]]))
    record = proposal.as_contract()
    assert sorted(p["domain"] for p in record["proposals"]) == sorted(demo_codebook.domain_ids)
    scores = [p["score"] for p in record["proposals"]]
    assert scores == sorted(scores, reverse=True)
    assert 0.5 < sum(s for _, s in proposal.scores) <= 1 + 1e-9  # the rest is "other"


def test_proposals_of_several_cases_are_case_local(zeroshot):
    """A case's proposals do not depend on which other cases are proposed with it."""

    class Unit:
        def __init__(self, case, text, question, turn):
            self.case, self.text, self.question, self.turn = case, text, question, turn

    a = [Unit("a", t, q, 2 * i) for i, (t, q) in enumerate(zip(FLOW.texts, FLOW.questions, strict=True))]
    b = [Unit("b", t, q, 2) for t, q, _ in CLEAR[:2]]
    alone = propose_units(zeroshot, a)
    together = propose_units(zeroshot, [b[0], *a, b[1]])
    assert together[1:4] == alone


def test_suggested_may_hold_several_domains_or_none():
    domains = ["a", "b", "c"]
    scores = np.array([[0.45, 0.40, 0.15], [0.34, 0.33, 0.33], [0.9, 0.05, 0.05]])
    several, none, one = proposals_from_scores(scores, domains, "v", np.array([0.35, 0.35, 0.35]))
    assert several.suggested == ("a", "b")
    assert none.suggested == ()
    assert one.suggested == ("a",)
    thresholded = proposals_from_scores(scores, domains, "v", np.array([0.5, 0.3, 0.3]))
    assert [p.suggested for p in thresholded] == [("b",), ("b", "c"), ("a",)]


def test_uncertainty_puts_close_calls_first():
    scores = np.array([[0.9, 0.05, 0.05], [0.4, 0.35, 0.25], [0.6, 0.3, 0.1]])
    assert uncertainty_order(scores, "margin") == [1, 2, 0]
    assert uncertainty_order(scores, "entropy") == [1, 2, 0]
    assert uncertainty_order(scores, "threshold", thresholds=[0.5, 0.5, 0.5]) == [1, 2, 0]
    proposals = proposals_from_scores(scores, ["a", "b", "c"], "v", np.full(3, 0.5))
    assert order_queue(["u1", "u2", "u3"], proposals, ["a", "b", "c"]) == ["u2", "u3", "u1"]
    with pytest.raises(ValueError):
        uncertainty(scores, "threshold")
