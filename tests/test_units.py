"""Thought-unit splitting on real-looking interview speech, with the real spaCy model."""

from __future__ import annotations

import json

import pytest

from tests.support import DEMO
from transcode.transcript import Transcript, Turn
from transcode.units import boundary_agreement, segment_turn, split_transcript


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
        "And then I just sat there, I did not know what to say to that at all.",
        nlp,
    )
    assert units[0] == 'And she said, "You never listen to me. You are just like my mother."'
    assert units[1] == "And then I just sat there, I did not know what to say to that at all."


def test_a_long_unit_is_never_cut_inside_a_quotation(nlp):
    quote = (
        "'I have been thinking about our last session for the whole week, and I think I gave you some "
        "hard news at a really bad moment, and I am sorry, because you deserved better from me than that, "
        "and so I want to ask you how it felt for you'"
    )
    units = units_of(f"So I said something like, {quote} and she just nodded at me.", nlp)
    assert any(quote in u for u in units), units


@pytest.mark.parametrize("ellipsis", ["...", ". . .", "\u2026"])
def test_a_unit_never_ends_at_an_ellipsis(nlp, ellipsis):
    text = (
        f"I kept telling myself it would be fine{ellipsis} And then she walked out of the session "
        f"and I just sat there{ellipsis} I did not move for a long time afterwards. "
        f"But my supervisor said something that really stayed with me about ruptures."
    )
    units = units_of(text, nlp)
    assert not any(u.rstrip("'\" ").endswith((".. .", "...", "\u2026")) for u in units[:-1]), units
    assert units[-1].startswith("But my supervisor")


def test_short_sentences_of_one_idea_stay_one_unit(nlp):
    units = units_of(
        "Um, we started in September, so it was our eighth session. Maybe seventh. "
        "Weekly, fifty minutes, the usual counseling center thing. "
        "And then in October she stopped coming to the sessions without a word.",
        nlp,
    )
    assert len(units) == 2
    assert units[0].endswith("the usual counseling center thing.")


def test_lower_case_transcripts_still_split(nlp):
    units = units_of(
        "i felt awful about the session for the whole week afterwards, i kept replaying it. "
        "and then my supervisor asked me to bring the video in so we could watch it together.",
        nlp,
    )
    assert len(units) == 2


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
            Turn(
                "participant",
                "P",
                "She was a student at the time, in her second year. And she had panic attacks before exams.",
                2,
            ),
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
    predicted, reference = [], []
    for case in sorted({g["case"] for g in gold}):
        units = split_transcript(read_transcript(DEMO / f"case_{case}.txt"), nlp)
        predicted += [((case, u.turn), u.end) for u in units]
        reference += [((case, g["turn"]), g["end"]) for g in gold if g["case"] == case]
    agreement = boundary_agreement(predicted, reference)
    assert agreement.f1 >= 0.85, agreement
    # people drew 1,119 units here: the splitter's count stays within 10% of theirs
    assert abs(agreement.n_units / len(gold) - 1) <= 0.10, agreement
