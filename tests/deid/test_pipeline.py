"""De-identification of whole transcripts with the spaCy model: every layer together."""

from __future__ import annotations

import re

import pytest

from transcode.deid import Deidentifier, deidentify
from transcode.transcript import Transcript, Turn


@pytest.fixture(scope="module")
def deidentifier() -> Deidentifier:
    return Deidentifier(["Halina Wieczorek"])


def make(*texts: str, metadata: dict[str, str] | None = None) -> Transcript:
    turns = [
        Turn("interviewer" if i % 2 == 0 else "participant", "I" if i % 2 == 0 else "P", text, i + 1)
        for i, text in enumerate(texts)
    ]
    return Transcript("07", tuple(turns), metadata or {}, "case_07.txt")


TRANSCRIPT = make(
    "Tell me about the client. [laughs]",
    "Dr. Maria Lopez saw the client at Riverside Community Clinic in Baltimore on March 3rd; "
    "he said his sister Jenny works at Johns Hopkins.",
    "And then?",
    "Jenny's phone is 410-555-0199 and her email jenny.p@example.org. She lives at 45 Elm Street. "
    "He was fifty-two. My supervisor said I hope it helps. We started in March.",
    "What happened next?",
    "i told jenny about Halina's visit, and halena came on 04/05/2024 with her MRN 5530917.",
    metadata={"interviewer": "R2", "date": "2024-03-14"},
)


@pytest.fixture(scope="module")
def result(deidentifier):
    return deidentifier.deidentify(TRANSCRIPT)


def output_text(result) -> str:
    return "\n".join([*result.transcript.metadata.values(), *(t.text for t in result.transcript.turns)])


@pytest.mark.parametrize(
    "original",
    [
        "Maria Lopez",
        "Riverside Community Clinic",
        "Baltimore",
        "March 3rd",
        "Jenny",
        "Johns Hopkins",
        "410-555-0199",
        "jenny.p@example.org",
        "45 Elm Street",
        "fifty-two",
        "Halina",
        "halena",
        "04/05/2024",
        "5530917",
        "2024-03-14",
    ],
)
def test_every_identifier_is_gone(result, original):
    assert not re.search(r"(?<!\w)" + re.escape(original) + r"(?!\w)", output_text(result), re.IGNORECASE)


def test_types_are_what_they_hide(result):
    counts = result.counts()
    for kind in ("PERSON", "PLACE", "ORG", "DATE", "PHONE", "EMAIL", "ADDRESS", "AGE", "ID"):
        assert counts.get(kind), kind


def test_roles_titles_annotations_labels_and_months_alone_stay(result):
    turns = result.transcript.turns
    assert turns[0].text == "Tell me about the client. [laughs]"
    assert turns[1].text.startswith("Dr. [PERSON_")
    assert "his sister [PERSON_" in turns[1].text
    assert "My supervisor said I hope it helps. We started in March." in turns[3].text
    assert [t.label for t in turns] == [t.label for t in TRANSCRIPT.turns]
    assert result.transcript.case == "07"
    assert result.transcript.metadata["interviewer"] == "R2"


def test_one_person_one_placeholder_across_the_case(result):
    turns = result.transcript.turns
    jenny = re.search(r"sister (\[PERSON_\d+\])", turns[1].text).group(1)
    assert turns[3].text.startswith(f"{jenny}'s phone")
    assert turns[5].text.startswith(f"i told {jenny} about")
    halina = re.search(r"about (\[PERSON_\d+\])'s visit", turns[5].text).group(1)
    assert f"and {halina} came" in turns[5].text
    assert halina != jenny


def test_replacement_records_point_at_placeholders_and_hide_originals(result):
    for r in result.replacements:
        text = (
            result.transcript.turns[r.turn].text
            if r.turn is not None
            else result.transcript.metadata[r.field.split(":", 1)[1]]
        )
        assert text[r.start : r.end] == r.placeholder
        source = (
            TRANSCRIPT.turns[r.turn].text
            if r.turn is not None
            else TRANSCRIPT.metadata[r.field.split(":", 1)[1]]
        )
        assert source[r.source_start : r.source_end] == r.original
        assert r.original not in repr(r)
        assert r.original not in str(r.as_report())


def test_names_carried_over_include_lower_case_but_not_ordinary_words(deidentifier):
    transcript = make(
        "Who?",
        "Tariq came late. I think about tariq a lot. I hope tariq is okay. Will you call?",
        "And Grace?",
        "Grace was kind. She spoke with grace.",
    )
    text = " ".join(t.text for t in deidentifier.deidentify(transcript).transcript.turns)
    assert "ariq" not in text
    assert "I hope" in text and "Will you call" in text
    assert "Grace was" not in text


def test_names_the_model_misses_in_name_positions(deidentifier):
    transcript = make(
        "Go on.",
        "Her mom, Folake, is a nurse. It starts 'Dear Oluwaseun Adeyemi,' and I'd call "
        "her Seun. He was at Cresthaven High. hi logan . so logan is a 58 year old male .",
    )
    text = deidentifier.deidentify(transcript).transcript.turns[1].text
    for name in ("Folake", "Oluwaseun", "Adeyemi", "Seun", "Cresthaven", "logan"):
        assert name not in text
    assert "Her mom, [PERSON_" in text


def test_model_regression_sentence(deidentifier):
    """The six entities the pinned model finds in the reference sentence (shared notes/models.md)."""
    sentence = (
        "Dr. Maria Lopez saw the client at Riverside Community Clinic in Baltimore on March 3rd; he said "
        "his sister Jenny works at Johns Hopkins."
    )
    texts, placed = deidentifier.deidentify_texts([sentence])
    assert sorted(p.original for p in placed) == sorted(
        ["Maria Lopez", "Riverside Community Clinic", "Baltimore", "March 3rd", "Jenny", "Johns Hopkins"]
    )


def test_module_level_deidentify_reuses_one_model():
    first = deidentify(make("Hi.", "Jenny came."))
    second = deidentify(make("Hi.", "Jenny came."))
    assert first.transcript == second.transcript
    assert first.transcript.turns[1].text == "[PERSON_1] came."
