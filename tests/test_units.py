"""Thought-unit splitting on real-looking interview speech, with the real spaCy model."""

from __future__ import annotations

import json

import pytest

from tests.support import DEMO
from transcode.transcript import Transcript, Turn
from transcode.units import segment_turn, split_transcript


def units_of(text: str, nlp, question: str = "How did you feel?") -> list[str]:
    transcript = Transcript("07", (Turn("interviewer", "I", question, 1), Turn("participant", "P", text, 2)))
    return [u.text for u in split_transcript(transcript, nlp)]


def test_backchannel_joins_the_next_sentence_at_turn_start(nlp):
    units = units_of("Yeah. Um, I was really nervous going into that session, honestly.", nlp)
    assert units == ["Yeah. Um, I was really nervous going into that session, honestly."]


def test_fragment_joins_the_previous_sentence(nlp):
    units = units_of(
        "I kept thinking I had failed her as a therapist. I don't know. "
        "Then my supervisor asked to see the video of the session.",
        nlp,
    )
    assert units == [
        "I kept thinking I had failed her as a therapist. I don't know.",
        "Then my supervisor asked to see the video of the session.",
    ]


def test_a_sentence_opening_with_laughter_or_filler_like_carries_on_the_idea(nlp):
    units = units_of(
        "I honestly thought she was going to walk out of the room that day. "
        "[laughs] I mean I was sure of it, I had my speech ready. "
        "Like, I had even planned what I would tell my supervisor about it. "
        "The next week my supervisor asked me to bring the recording in.",
        nlp,
    )
    assert len(units) == 2
    assert units[0].endswith("what I would tell my supervisor about it.")
    assert units[1].startswith("The next week")


def test_quoted_exchange_stays_together(nlp):
    units = units_of(
        'And she said, "You never listen to me. You are just like my mother." '
        "I did not know what to say to that at all.",
        nlp,
    )
    assert units[0] == 'And she said, "You never listen to me. You are just like my mother."'
    assert units[1] == "I did not know what to say to that at all."


def test_long_run_on_is_cut_at_a_discourse_marker(nlp):
    text = (
        "I went home that night and I just kept replaying the whole session in my head over and over "
        "and thinking about every single thing I could have said differently to her, but I also felt "
        "kind of angry at her for how she had talked to me, which surprised me because she had been so "
        "warm the week before and I really thought we had a good connection going"
    )
    units = units_of(text, nlp)
    assert len(units) >= 2
    assert all(len(u.split()) >= 4 for u in units)
    assert " ".join(units).replace(" ,", ",") == text or "".join(units).replace(" ", "") == text.replace(
        " ", ""
    )


def test_annotations_alone_are_not_units(nlp):
    units = units_of(
        "[laughs] Okay. So the client was a graduate student who came in for panic attacks.", nlp
    )
    assert len(units) == 1 and units[0].startswith("[laughs]")


def test_offsets_turns_and_questions_are_kept(nlp):
    transcript = Transcript(
        "07",
        (
            Turn("interviewer", "I", "Tell me about the client.", 1),
            Turn("participant", "P", "She was a student at the time. She had panic attacks before exams.", 2),
            Turn("interviewer", "I", "And the rupture?", 3),
            Turn("participant", "P", "It happened in our fifth session, after I pushed her on homework.", 4),
        ),
    )
    units = split_transcript(transcript, nlp)
    assert [u.unit_id for u in units] == ["07-0001", "07-0002", "07-0003"]
    assert [u.turn for u in units] == [2, 2, 4]
    assert [u.question for u in units] == ["Tell me about the client."] * 2 + ["And the rupture?"]
    for u in units:
        assert transcript.turns[u.turn - 1].text[u.start : u.end] == u.text


def test_segment_turn_pure_core_without_a_model():
    text = "Yeah. I felt awful about the session afterwards. Right."
    spans = [(0, 5), (6, 47), (48, 54)]
    assert segment_turn(text, spans) == [(0, 54)]


def test_turn_that_is_only_a_fragment_stays_one_unit(nlp):
    assert units_of("I don't know.", nlp) == ["I don't know."]


def test_boundaries_agree_with_gold_units_of_the_demo_corpus(nlp):
    """Boundary F1 against the hand-made gold units: the splitter must be close to people."""
    from transcode.ingest import read_transcript

    gold_path = DEMO / "gold" / "units.jsonl"
    if not gold_path.exists():
        pytest.skip("demo corpus not built")
    gold = [json.loads(line) for line in gold_path.read_text().splitlines()]
    by_case: dict[str, set] = {}
    for g in gold:
        by_case.setdefault(g["case"], set()).add((g["turn"], g["end"]))
    tp = fp = fn = 0
    for case, gold_ends in by_case.items():
        units = split_transcript(read_transcript(DEMO / f"case_{case}.txt"), nlp)
        ends = {(u.turn, u.end) for u in units}
        # a boundary within 3 characters (trailing punctuation) counts as the same boundary
        matched = {e for e in ends if any(t == e[0] and abs(x - e[1]) <= 3 for t, x in gold_ends)}
        tp += len(matched)
        fp += len(ends - matched)
        fn += sum(1 for t, x in gold_ends if not any(t == e[0] and abs(x - e[1]) <= 3 for e in ends))
    precision, recall = tp / (tp + fp), tp / (tp + fn)
    f1 = 2 * precision * recall / (precision + recall)
    assert f1 >= 0.75, (precision, recall, f1)
