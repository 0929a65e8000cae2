"""Ingest: every supported format into turns, and every malformed input as one clear error."""

from __future__ import annotations

import pytest
from docx import Document

from tests.support.cli import run_transcode
from transcode.errors import InputError
from transcode.ingest import read_transcript, render_text, write_transcript

TXT = """# case: 07
# interviewer: R2
I: Tell me about the client.
P: She's a graduate student. She came to the clinic in March.
   A line without a label continues the current turn.
I: How did you feel before the rupture occurred?
P: Nervous, honestly. And then she said: "I'm done."
"""


def write(tmp_path, name, content, mode="w"):
    path = tmp_path / name
    if mode == "wb":
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


def test_txt_headers_turns_and_continuations(tmp_path):
    t = read_transcript(write(tmp_path, "x.txt", TXT))
    assert t.case == "07"
    assert t.metadata == {"interviewer": "R2"}
    assert [turn.speaker_role for turn in t.turns] == ["interviewer", "participant"] * 2
    assert t.turns[1].text.endswith("in March. A line without a label continues the current turn.")
    assert t.turns[1].line == 4
    assert t.turns[3].text == 'Nervous, honestly. And then she said: "I\'m done."'


def test_case_id_defaults_to_file_name_and_bom_is_accepted(tmp_path):
    t = read_transcript(write(tmp_path, "case_12.txt", "\ufeffInterviewer: Hi.\nRespondent: Hello.\n"))
    assert t.case == "case_12"
    assert [x.speaker_role for x in t.turns] == ["interviewer", "participant"]


@pytest.mark.parametrize("separator", ["\u2028", "\u2029", "\x85", "\x0c", "\x1e"])
def test_only_cr_and_lf_break_lines(tmp_path, separator):
    """U+2028, NEL, form feeds... are text inside a turn, not line breaks (str.splitlines would split)."""
    path = tmp_path / "t.txt"
    path.write_bytes(f"I: Hello?\rP: One{separator}two.\r\nI: Bye.\n".encode())
    transcript = read_transcript(path)
    assert [(t.label, t.text, t.line) for t in transcript.turns] == [
        ("I", "Hello?", 1),
        ("P", f"One{separator}two.", 2),
        ("I", "Bye.", 3),
    ]


def test_labels_are_case_insensitive_and_overridable(tmp_path):
    path = write(tmp_path, "a.txt", "int: Question?\nt: Answer here.\n")
    assert [x.speaker_role for x in read_transcript(path).turns] == ["interviewer", "participant"]
    custom = write(tmp_path, "b.txt", "Mod: Question?\nDoc: Answer here.\n")
    t = read_transcript(custom, interviewer_labels=["Mod"], participant_labels=["Doc"])
    assert [x.label for x in t.turns] == ["Mod", "Doc"]


def test_unknown_label_is_an_error_with_line_unless_kept(tmp_path):
    path = write(tmp_path, "c.txt", "I: Question?\nP: Answer.\nDr Smith: An aside.\n")
    with pytest.raises(InputError) as err:
        read_transcript(path)
    assert err.value.line == 3 and "Dr Smith" in str(err.value) and str(path) in str(err.value)
    kept = read_transcript(path, other_speakers="keep")
    assert kept.turns[2].speaker_role == "other"


def test_prose_with_a_colon_continues_the_turn(tmp_path):
    path = write(tmp_path, "d.txt", "I: Question?\nP: Answer.\nand then she told me: no way.\n")
    assert read_transcript(path).turns[1].text == "Answer. and then she told me: no way."


def test_docx_paragraphs(tmp_path):
    document = Document()
    for line in TXT.splitlines():
        document.add_paragraph(line)
    path = tmp_path / "x.docx"
    document.save(str(path))
    t = read_transcript(path)
    assert t.case == "07" and len(t.turns) == 4 and t.turns[2].line == 6


def test_vtt_voice_tags_and_name_prefixes_merge_consecutive_cues(tmp_path):
    vtt = (
        "WEBVTT\n\n00:00:01.000 --> 00:00:03.000\n<v Interviewer>How did it start?\n\n"
        "00:00:03.500 --> 00:00:06.000\n<v Participant>She went quiet.\n\n"
        "00:00:06.000 --> 00:00:08.000\n<v Participant>Totally quiet.\n\n"
        "00:00:08.000 --> 00:00:09.000\nI: And then?\n"
    )
    t = read_transcript(write(tmp_path, "s.vtt", vtt))
    assert [x.text for x in t.turns] == ["How did it start?", "She went quiet. Totally quiet.", "And then?"]
    assert t.turns[1].start == 3.5 and t.turns[1].end == 8.0 and t.turns[1].line == 6


def test_srt_with_name_prefix(tmp_path):
    srt = "1\n00:00:01,000 --> 00:00:02,000\nI: Hello?\n\n2\n00:00:02,000 --> 00:00:04,000\nP: Hi there.\n"
    t = read_transcript(write(tmp_path, "s.srt", srt))
    assert [(x.speaker_role, x.text) for x in t.turns] == [
        ("interviewer", "Hello?"),
        ("participant", "Hi there."),
    ]


def test_csv_with_optional_times(tmp_path):
    t = read_transcript(
        write(tmp_path, "s.csv", 'speaker,text,start,end\nI,Why?,0,2.5\nP,"Because, well.",00:03,4\n')
    )
    assert t.turns[1].text == "Because, well." and t.turns[1].start == 3.0 and t.turns[1].line == 3


@pytest.mark.parametrize("suffix", [".txt", ".docx", ".csv", ".vtt", ".srt"])
def test_write_then_read_round_trip(tmp_path, suffix):
    original = read_transcript(write(tmp_path, "x.txt", TXT))
    path = tmp_path / f"copy{suffix}"
    write_transcript(original, path)
    again = read_transcript(path)
    assert [(x.speaker_role, x.text) for x in again.turns] == [
        (x.speaker_role, x.text) for x in original.turns
    ]
    if suffix in (".txt", ".docx"):
        assert render_text(again) == render_text(original)


BAD_INPUTS = [
    ("binary.txt", b"I: hi\n\x00\x01\x02", "binary", 2),
    ("latin1.txt", "I: hi\nP: caf\xe9\n".encode("latin-1"), "UTF-8", 2),
    ("empty.txt", b"", "empty transcript", None),
    ("only_headers.txt", b"# case: 3\n\n", "empty transcript", None),
    ("unknown.txt", b"I: q\nBob Jones: hi\n", "unknown speaker", 2),
    ("orphan.txt", b"just prose before anyone speaks\nI: q\n", "before the first speaker", 1),
    ("bad.csv", b"who,said\nI,x\n", "speaker,text", 1),
    ("badtime.csv", b"speaker,text,start\nI,x,soon\n", "time", 2),
    ("unknown.csv", b"speaker,text\nI,x\nZed,y\n", "unknown speaker", 3),
    ("bad.vtt", b"not a vtt file at all", "malformed VTT", None),
    ("bad.docx", b"PK\x03\x04 not really a zip", "docx", None),
    ("notes.pdf", b"%PDF-1.4", "unsupported file type", None),
]


@pytest.mark.parametrize(("name", "content", "message", "line"), BAD_INPUTS, ids=[b[0] for b in BAD_INPUTS])
def test_bad_input_names_file_and_line(tmp_path, name, content, message, line):
    path = write(tmp_path, name, content, "wb")
    with pytest.raises(InputError) as err:
        read_transcript(path)
    assert message.lower() in str(err.value).lower()
    assert err.value.path == str(path)
    assert err.value.line == line


def test_missing_file(tmp_path):
    with pytest.raises(InputError, match="no such file"):
        read_transcript(tmp_path / "nope.txt")


def test_cli_bad_input_exits_2_with_one_line_and_writes_nothing(tmp_path):
    good = write(tmp_path, "good.txt", TXT)
    bad = write(tmp_path, "bad.txt", b"I: q\n\x00", "wb")
    out = tmp_path / "p.jsonl"
    result = run_transcode("precode", good, bad, "--codebook", tmp_path / "missing.yaml", "--out", out)
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1 and "missing.yaml" in result.stderr
    assert result.stdout == "" and not out.exists()


def test_docx_reads_only_its_main_part_streamed_with_bounded_memory(tmp_path):
    """An unreferenced 100 MB member is never unpacked; the text reads as python-docx reads it."""
    import tracemalloc

    from tests.support.hostile import unreferenced_bomb_docx

    path = tmp_path / "case.docx"
    path.write_bytes(unreferenced_bomb_docx(100))
    tracemalloc.start()
    transcript = read_transcript(path)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert [(t.label, t.text) for t in transcript.turns] == [("I", "Hello?"), ("P", "Fine.")]
    assert peak < 20 * 2**20, peak


def test_docx_entities_are_never_expanded(tmp_path):
    """An external entity (XXE) is not fetched; nested entities (billion laughs) are refused."""
    from tests.support.hostile import BUILDERS

    xxe, laughs = tmp_path / "xxe.docx", tmp_path / "laughs.docx"
    xxe.write_bytes(BUILDERS["xxe_docx"]()[1])
    laughs.write_bytes(BUILDERS["laughs_docx"]()[1])
    assert [(t.label, t.text) for t in read_transcript(xxe).turns] == [("P", "")]
    try:  # libxml2 refuses the amplification outright; without that check, nothing is expanded
        assert [(t.label, t.text) for t in read_transcript(laughs).turns] == [("P", "")]
    except InputError as err:
        assert "not a readable .docx file" in str(err) and "amplification" in str(err)


def test_docx_paragraphs_match_python_docx(tmp_path):
    from docx import Document

    from transcode.ingest import docx_paragraphs

    document = Document()
    document.add_paragraph("# case: 07")
    paragraph = document.add_paragraph("I: Hello ")
    paragraph.add_run("there\tfriend").add_break()
    paragraph.add_run("next")
    document.add_table(rows=1, cols=1).cell(0, 0).text = "in a table: not a paragraph of the body"
    document.add_paragraph("P: fine & <ok> ünïcode")
    document.add_paragraph("")
    path = tmp_path / "rich.docx"
    document.save(str(path))
    assert docx_paragraphs(path) == [p.text for p in Document(str(path)).paragraphs]
