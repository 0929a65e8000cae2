"""The model-free parts of de-identification: patterns, known names, placeholders, key file."""

from __future__ import annotations

import json

import pytest

from transcode.deid.keyfile import decrypt, encrypt, read_key_file, write_key_file
from transcode.deid.names import (
    NameMatcher,
    carried_names,
    carry_over,
    drop_common_words,
    load_known_names,
    parse_known_names,
    strip_possessive,
)
from transcode.deid.placeholders import assign_placeholders, cluster_people, normalise
from transcode.deid.recognizers import find_patterns, is_exact_date
from transcode.deid.spans import Detection, join_adjacent_names, merge_overlapping, tidy
from transcode.errors import InputError


def found(text: str, **options) -> set[tuple[str, str]]:
    return {(kind, text[start:end]) for start, end, kind in find_patterns(text, **options)}


@pytest.mark.parametrize(
    ("text", "kind", "value"),
    [
        ("call the main line, 937-555-0142, anytime", "PHONE", "937-555-0142"),
        ("my cell is (509) 555-0163 ext. 12 now", "PHONE", "(509) 555-0163 ext. 12"),
        ("ring +44 20 7946 0958 from abroad", "PHONE", "+44 20 7946 0958"),
        ("it came from t.wieczorek@lakeline.net, and", "EMAIL", "t.wieczorek@lakeline.net"),
        ("send it to jenny at gmail dot com please", "EMAIL", "jenny at gmail dot com"),
        ("her site www.jennyscakes.com/about, she said", "URL", "www.jennyscakes.com/about"),
        ("she runs volkovcabinetry.com now", "URL", "volkovcabinetry.com"),
        ("he lived at 417 Brandt Street, and", "ADDRESS", "417 Brandt Street"),
        ("it's at 62 Larkspur Court, Apt 4B in town", "ADDRESS", "62 Larkspur Court, Apt 4B"),
        ("we met on Main Street that day", "ADDRESS", "Main Street"),
        ("the zip code is 45402 I think", "ADDRESS", "45402"),
        ("Dayton, OH 45402 is the office", "ADDRESS", "45402"),
        ("write to PO Box 1234 instead", "ADDRESS", "PO Box 1234"),
        ("her record number, 00482917, because", "ID", "00482917"),
        ("with her MRN in the subject line, MRN 5530917, and", "ID", "MRN 5530917"),
        ("SSN 123-45-6789 on the form", "ID", "123-45-6789"),
        ("It was March 14th, I know that", "DATE", "March 14th"),
        ("a few weeks later, April 2, 2024, I think", "DATE", "April 2, 2024"),
        ("it was 10/02/2024 exactly", "DATE", "10/02/2024"),
        ("on the 3rd of March she left", "DATE", "3rd of March"),
        ("back in June 2024 it started", "DATE", "June 2024"),
        ("The client was a man, he was fifty-two, and", "AGE", "fifty-two"),
        ("having a fifty-two-year-old man tell you", "AGE", "fifty-two"),
        ("'How old are you, twenty-eight? You've never'", "AGE", "twenty-eight"),
        ("He was, uh, fifteen, a sophomore", "AGE", "fifteen"),
        ("a woman who was ninety-one, which", "AGE", "ninety-one"),
        ("the chart just said '91 F.' Which", "AGE", "91"),
        ("she is well into her nineties now", "AGE", "nineties"),
        ("a 22-month-old boy", "AGE", "22"),
    ],
)
def test_each_pattern_type_is_found(text, kind, value):
    assert (kind, value) in found(text)


@pytest.mark.parametrize(
    "text",
    [
        "She came to the clinic in March.",
        "We met on Tuesday and again last week.",
        "It was in 2019, two years ago, in the spring.",
        "His PHQ went from, I think it was nineteen, down to six.",
        "We did twenty-two sessions total, he was twenty minutes late.",
        "I walked 3 blocks down the road.",
        "He worked there for thirty years.",
        "We did 24/7 care at 3:30 pm, PHQ-9 and GAD-7 scores.",
        "It cost $1500000 in the end.",
    ],
)
def test_ordinary_numbers_months_and_times_stay(text):
    assert found(text) == set()


def test_strict_dates_also_take_months_alone():
    assert ("DATE", "March") in found("She came in March.", strict_dates=True)


def test_birth_year_that_implies_an_age_over_89_goes():
    assert ("DATE", "1930") in found("she was born in 1930", year=2025)
    assert found("she was born in 1990", year=2025) == set()


@pytest.mark.parametrize(
    ("text", "exact"),
    [
        ("March 3rd", True),
        ("June 2024", True),
        ("03/10/2024", True),
        ("the third of May", True),
        ("March", False),
        ("last year", False),
        ("two weeks", False),
        ("Tuesday", False),
        ("2019", False),
    ],
)
def test_exact_dates(text, exact):
    assert is_exact_date(text) is exact


def test_parse_known_names_skips_comments_and_dedupes():
    assert parse_known_names("# staff\nJenny Smith\n\n  Dr. Patel \nJenny Smith\n") == (
        "Jenny Smith",
        "Dr. Patel",
    )


@pytest.mark.parametrize(
    "text", ["", "# only a comment\n", "Jenny\n1234\n", "Jenny\tSmith\tPatel\n", "Jenny\nuser@example.com\n"]
)
def test_malformed_names_are_input_errors(text):
    with pytest.raises(InputError):
        parse_known_names(text, "names.txt")


def test_names_file_missing_or_binary(tmp_path):
    with pytest.raises(InputError, match="not found"):
        load_known_names(tmp_path / "missing.txt")
    binary = tmp_path / "names.txt"
    binary.write_bytes(b"Jenny\x00\x01\x02")
    with pytest.raises(InputError, match="binary"):
        load_known_names(binary)


def test_strip_possessive():
    assert [strip_possessive(w) for w in ("Jenny's", "Jenny’s", "James'", "Jenny")] == [
        "Jenny",
        "Jenny",
        "James",
        "Jenny",
    ]


def test_known_names_match_any_case_possessives_and_spelling_variants():
    text = "Jenny's mom said jenny and Jenni came, and JENNY left. Smith too. Penny stayed."
    matcher = NameMatcher(["Jenny Smith"])
    hits = [text[d.start : d.end] for d in matcher.find([text])]
    assert hits == ["Jenny", "jenny", "Jenni", "JENNY", "Smith", "Penny"]
    assert "Penny" not in [
        text[d.start : d.end] for d in NameMatcher(["Jenny Smith"], fuzzy=False).find([text])
    ]


def test_known_name_in_ordinary_use_is_left_when_told():
    text = "I hope so. Hope came in."
    matcher = NameMatcher(["Hope"])
    hits = matcher.find([text], is_name_use=lambda segment, start, word: word[0].isupper())
    assert [text[d.start : d.end] for d in hits] == ["Hope"]


def test_carry_over_spreads_a_person_across_the_case_in_any_case():
    segments = ["Tomasz Wieczorek came in.", "If tomasz hadn't pushed back.", "Tomasz's world was work."]
    seeds = [Detection(0, 0, 16, "PERSON", "ner")]
    carried = {(d.segment, segments[d.segment][d.start : d.end]) for d in carry_over(segments, seeds)}
    assert {(1, "tomasz"), (2, "Tomasz"), (0, "Wieczorek")} <= carried
    assert (2, "Tomasz's") not in carried


def test_merge_unions_overlaps_and_keeps_the_most_specific_type():
    merged = merge_overlapping(
        [Detection(0, 0, 11, "PERSON"), Detection(0, 0, 24, "EMAIL"), Detection(0, 30, 35, "PLACE")]
    )
    assert [(d.start, d.end, d.type) for d in merged] == [(0, 24, "EMAIL"), (30, 35, "PLACE")]


def test_adjacent_names_join_and_trailing_punctuation_is_dropped():
    text = "Jenny Smith, at folioroom.com/sketches, on Elm Street."
    joined = join_adjacent_names([Detection(0, 0, 5, "PERSON"), Detection(0, 6, 11, "PERSON")], [text])
    assert [(d.start, d.end) for d in joined] == [(0, 11)]
    tidied = tidy([Detection(0, 16, 39, "URL"), Detection(0, 43, 54, "ADDRESS")], [text])
    assert [text[d.start : d.end] for d in tidied] == ["folioroom.com/sketches", "Elm Street"]


def test_placeholders_are_typed_numbered_and_consistent_within_a_case():
    segments = [
        "Jenny's mom met Dr. Patel in Dayton.",
        "jenny called from Dayton; Jenni too.",
        "Patel phoned 937-555-0142 and (937) 555 0142.",
    ]
    detections = [
        Detection(0, 0, 5, "PERSON"),
        Detection(0, 20, 25, "PERSON"),
        Detection(0, 29, 35, "PLACE"),
        Detection(1, 0, 5, "PERSON"),
        Detection(1, 18, 24, "PLACE"),
        Detection(1, 26, 31, "PERSON"),
        Detection(2, 0, 5, "PERSON"),
        Detection(2, 13, 25, "PHONE"),
        Detection(2, 30, 44, "PHONE"),
    ]
    output, placed = assign_placeholders(segments, detections)
    assert output == [
        "[PERSON_1]'s mom met Dr. [PERSON_2] in [PLACE_1].",
        "[PERSON_1] called from [PLACE_1]; [PERSON_1] too.",
        "[PERSON_2] phoned [PHONE_1] and [PHONE_1].",
    ]
    for p in placed:
        assert output[p.segment][p.start : p.end] == p.placeholder
        assert segments[p.segment][p.source_start : p.source_end] == p.original
    assert "Jenny" not in repr(placed)


def test_a_first_name_alone_is_the_same_person_as_the_full_name():
    clusters = cluster_people(["tomasz wieczorek", "tomasz", "wieczorek", "halina", "thomasz"])
    assert clusters["tomasz"] == clusters["tomasz wieczorek"] == clusters["wieczorek"] == clusters["thomasz"]
    assert clusters["halina"] != clusters["tomasz"]


def test_normalise_makes_mentions_of_one_value_equal():
    assert normalise("AGE", "fifty-two") == normalise("AGE", "52")
    assert normalise("PHONE", "937-555-0142") == normalise("PHONE", "(937) 555 0142")
    assert normalise("PERSON", "Dr. Patel's") == normalise("PERSON", "patel")


def test_key_envelope_round_trip_and_tamper_detection(tmp_path):
    document = {"files": {"a.txt": {"placeholders": {"[PERSON_1]": ["Jenny"]}}}}
    envelope = encrypt(document, "correct horse")
    assert "Jenny" not in json.dumps(envelope)
    assert decrypt(envelope, "correct horse") == document
    with pytest.raises(InputError, match="wrong passphrase"):
        decrypt(envelope, "wrong horse!")
    tampered = dict(envelope, kdf=dict(envelope["kdf"], n=2**14))
    with pytest.raises(InputError):
        decrypt(tampered, "correct horse")
    path = tmp_path / "key.json"
    write_key_file(path, document["files"], "correct horse")
    assert read_key_file(path, "correct horse") == document
    assert path.stat().st_mode & 0o077 == 0
    with pytest.raises(InputError, match="at least 8"):
        encrypt(document, "short")


def test_a_capitalised_word_the_case_mostly_writes_in_lower_case_is_no_name():
    segments = [
        "Marijuana is everywhere.",
        "About your marijuana use.",
        "How marijuana helps. Jenny said so.",
    ]
    detections = [
        Detection(0, 0, 9, "PERSON", "ner"),
        Detection(2, 20, 25, "PERSON", "ner"),
        Detection(1, 11, 20, "PERSON", "names"),
    ]
    kept = drop_common_words(segments, detections, {"marijuana", "jenny"})
    assert [(d.segment, d.start) for d in kept] == [(2, 20), (1, 11)]


def test_carried_names_skip_contractions_and_keep_mostly_lower_case_words_capitalised():
    segments = ["I'm in Marching Band with Tomasz Wieczorek.", "in band, then band practice, and tomasz came"]
    detections = [Detection(0, 0, 3, "PERSON"), Detection(0, 7, 20, "PERSON"), Detection(0, 26, 42, "PERSON")]
    assert carried_names(segments, detections, {"marching", "band"}) == (
        {"Marching", "Tomasz", "Wieczorek"},
        {"Band"},
    )
    later = segments
    carried = {
        later[d.segment][d.start : d.end] for d in carry_over(later, detections, lexicon={"marching", "band"})
    }
    assert carried == {"Marching", "Band", "Tomasz", "Wieczorek", "tomasz"}
    assert carried_names(
        ["Her name is Jenny Morales.", "I told jenny."],
        detections[:0] + [Detection(0, 12, 25, "PERSON")],
        {"jenny", "morales"},
    )[0] == {"Jenny", "Morales"}


def test_presidio_urls_need_the_shape_of_a_web_address():
    from transcode.deid.recognizers import presidio_detections

    segments = ["what I'll be getting.And then", "see www.example.org/about today"]
    urls = [
        (d.segment, segments[d.segment][d.start : d.end])
        for d in presidio_detections(segments)
        if d.type == "URL"
    ]
    assert urls and all(segment == 1 for segment, _ in urls)


def test_key_files_use_scrypt_n_2_17_and_refuse_unbounded_parameters(tmp_path):
    import json

    from tests.support.hostile import crafted_key_file
    from transcode.errors import InputError

    path = tmp_path / "key.json"
    write_key_file(path, {"case.txt": {"case": "01", "placeholders": {}, "occurrences": []}}, "correct horse")
    assert json.loads(path.read_text())["kdf"]["n"] == 2**17
    for n, r, message in (
        (2**24, 8, "N=16777216"),
        (2**20, 8, "MiB of scrypt memory"),
        (3 * 2**14, 8, "power"),
        (2**14, 1000, "r=1000"),
    ):
        path.write_text(crafted_key_file(n=n, r=r))
        with pytest.raises(InputError, match=message):
            read_key_file(path, "correct horse")
