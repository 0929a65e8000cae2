"""How import-qdpx reads files it did not write, and what it refuses: one rule per test.

Small projects are written here as another tool would write them (no transcode metadata).
"""

from __future__ import annotations

import zipfile

import pytest

from tests.support.qdpx import CODE_1, CODE_2, OTHER_CODE, TEXT, A, B, guid_of, selection, span, write_project
from transcode.errors import InputError
from transcode.exchange import refi


def test_whole_line_selections_are_trimmed_and_spans_merge_across_coders(tmp_path):
    line = TEXT.split("\n")[1] + "\n"  # "P: She went quiet. Then she left.\n"
    start = TEXT.index(line)
    path = write_project(
        tmp_path / "p.qdpx",
        [selection(start, start + len(line)), selection(start + 3, start + len(line) - 1, B, B, CODE_2)],
    )
    snapshot = refi.load_qdpx(path).snapshot
    (transcript,) = snapshot.transcripts
    (unit,) = transcript.units
    assert unit.text == "She went quiet. Then she left." and unit.question == "How did it start?"
    assert snapshot.judge_codes == {"A": {unit.key: {"emotions_grimacing"}}, "B": {unit.key: {"emotsii"}}}
    assert transcript.source_name == "interview_7.txt" and transcript.case == "interview_7"


def test_a_selection_across_two_turns_is_refused_naming_both_lines(tmp_path):
    start, _ = span(TEXT, "Then she left.")
    _, end = span(TEXT, "And then?")
    path = write_project(tmp_path / "p.qdpx", [selection(start, end)])
    with pytest.raises(InputError, match=r"straddles 2 speaker turns \(lines 2 and 3\)") as info:
        refi.load_qdpx(path)
    assert str(info.value).startswith(f"{path}: selection ")


def test_the_coder_may_be_named_on_the_selection_only(tmp_path):
    path = write_project(tmp_path / "p.qdpx", [selection(*span(TEXT, "I called her."), user=B, coder=None)])
    assert set(refi.load_qdpx(path).snapshot.judges) == {"B"}
    path = write_project(
        tmp_path / "q.qdpx", [selection(*span(TEXT, "I called her."), user=None, coder=None)]
    )
    with pytest.raises(InputError, match="names no creatingUser, nor does its selection"):
        refi.load_qdpx(path)


def test_users_with_the_same_name_stay_apart(tmp_path):
    users = f'<User guid="{A}" name="Ana"/><User guid="{B}" name="Ana"/>'
    selections = [
        selection(*span(TEXT, "I called her."), A, A),
        selection(*span(TEXT, "I called her."), B, B),
    ]
    content = refi.load_qdpx(write_project(tmp_path / "p.qdpx", selections, users=users))
    assert set(content.snapshot.judges) == {"Ana", "Ana (2)"}
    assert any("two users are called 'Ana'" in w for w in content.warnings)


def test_codebook_folders_unicode_names_and_other(tmp_path):
    selections = [selection(*span(TEXT, "I called her."), code=OTHER_CODE)]
    content = refi.load_qdpx(write_project(tmp_path / "p.qdpx", selections))
    codebook = content.snapshot.codebook
    assert [(d.id, d.name) for d in codebook.domains] == [
        ("emotions_grimacing", "Émotions 😬"),
        ("emotsii", "Эмоции"),
    ]
    assert any("code folder(s) ('Folder')" in w for w in content.warnings)
    assert list(content.snapshot.judge_codes["A"].values()) == [{"other"}]


def test_crlf_counted_as_one_or_two_characters_whichever_the_selections_fit(tmp_path):
    crlf = TEXT.replace("\n", "\r\n")
    lf_start, lf_end = span(TEXT, "I called her.")
    one = refi.load_qdpx(write_project(tmp_path / "one.qdpx", [selection(lf_start, lf_end)], text=crlf))
    raw_start, raw_end = span(crlf, "I called her.")
    two = refi.load_qdpx(write_project(tmp_path / "two.qdpx", [selection(raw_start, raw_end)], text=crlf))
    assert [u.text for t in one.snapshot.transcripts for u in t.units] == ["I called her."]
    assert [u.text for t in two.snapshot.transcripts for u in t.units] == ["I called her."]


def test_bom_emoji_unicode_labels_and_line_separators(tmp_path):
    text = "\ufeffI: Ça va ?\nÉmile: Bien 😀 merci\u2028toujours.\n"
    words = "Bien 😀 merci\u2028toujours."
    start = text.removeprefix("\ufeff").index(words)
    snapshot = refi.load_qdpx(
        write_project(tmp_path / "p.qdpx", [selection(start, start + len(words))], text=text)
    ).snapshot
    (transcript,) = snapshot.transcripts
    assert [(t.label, t.role) for t in transcript.turns] == [("I", "interviewer"), ("Émile", "other")]
    assert transcript.units[0].text == words  # U+2028 is text, not a line break; BOM not counted


def test_what_a_transcript_cannot_hold_is_left_out_with_a_warning(tmp_path):
    pdf = (
        f'<PDFSource guid="{guid_of(9)}" path="internal://x.pdf"><PDFSelection guid="{guid_of(10)}" page="1" '
        f'firstX="0" firstY="0" secondX="1" secondY="1"><Coding guid="{guid_of(11)}" creatingUser="{A}">'
        f'<CodeRef targetGUID="{CODE_1}"/></Coding></PDFSelection></PDFSource>'
    )
    content = refi.load_qdpx(write_project(tmp_path / "p.qdpx", [], extra=pdf))
    assert any("1 PDFSource(s) with 1 coding(s) left out" in w for w in content.warnings)


def test_files_outside_the_archive_are_not_read(tmp_path):
    path = write_project(tmp_path / "p.qdpx", [], source_attributes='plainTextPath="absolute:///etc/passwd"')
    with pytest.raises(InputError, match="reads only files inside the archive"):
        refi.load_qdpx(path)
    path = write_project(tmp_path / "q.qdpx", [], source_attributes='plainTextPath="internal://../s.txt"')
    with pytest.raises(InputError, match="reads only files inside the archive"):
        refi.load_qdpx(path)


def test_capitalised_sources_folder_is_read_too(tmp_path):
    path = tmp_path / "p.qdpx"
    write_project(path, [selection(*span(TEXT, "I called her."))])
    upper = tmp_path / "upper.qdpx"
    with zipfile.ZipFile(path) as old, zipfile.ZipFile(upper, "w") as new:
        for name in old.namelist():
            new.writestr(name.replace("sources/", "Sources/"), old.read(name))
    assert [u.text for t in refi.load_qdpx(upper).snapshot.transcripts for u in t.units] == ["I called her."]


@pytest.mark.slow
def test_foreign_text_is_de_identified_and_units_follow_their_words(tmp_path):
    text = "I: Who helped?\nP: My supervisor Maria Gonzalez helped me. She called on 12 March 2024.\n"
    selections = [
        selection(*span(text, "My supervisor Maria Gonzalez helped me.")),
        selection(*span(text, "She called on 12 March 2024."), B, B, CODE_2),
        selection(*span(text, "My supervisor Maria"), B, B),  # ends inside a name
    ]
    path = write_project(tmp_path / "p.qdpx", selections, text=text)
    content = refi.deidentify_content(refi.load_qdpx(path), known_names=["Maria Gonzalez"])
    (transcript,) = content.snapshot.transcripts
    turn = transcript.turns[1].text
    assert "Maria" not in turn and "Gonzalez" not in turn and "2024" not in turn
    texts = [u.text for u in transcript.units]
    assert all(u.text == transcript.turns[u.turn - 1].text[u.start : u.end] for u in transcript.units)
    # in text order: the selection that ended inside the name now ends after its placeholder
    assert texts[0] == "My supervisor [PERSON_1]"
    assert texts[1].startswith("My supervisor [PERSON_1]") and texts[1].endswith("helped me.")
    assert texts[2].startswith("She called on [") and "March" not in texts[2]
    assert set(content.snapshot.judge_codes["B"]) == {transcript.units[0].key, transcript.units[2].key}
