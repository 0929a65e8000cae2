"""Property tests of ingest (issue 14): whatever bytes arrive, read_transcript gives a transcript
or the one-line InputError naming the file, never another exception; and well-formed transcripts
with odd content (markup, unicode, long lines, odd labels) always read back as written."""

from __future__ import annotations

import io
import tempfile
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from tests.support.hostile import minimal_docx, paragraphs_xml
from transcode.errors import InputError
from transcode.ingest import SUPPORTED_SUFFIXES, read_transcript, render_text
from transcode.transcript import Transcript

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def read_or_input_error(content: bytes, suffix: str) -> Transcript | None:
    """Read ``content`` as a transcript file; an InputError (one line, naming the file) is fine."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"case{suffix}"
        path.write_bytes(content)
        try:
            return read_transcript(path, other_speakers="keep")
        except InputError as err:
            assert str(err).startswith(str(path)), err
            assert "\n" not in str(err).strip(), err
            return None


def docx_of(data: bytes) -> bytes:
    """``data`` as the main part of an otherwise well-formed .docx package."""
    return minimal_docx(data)


@SETTINGS
@given(content=st.binary(max_size=2000), suffix=st.sampled_from(SUPPORTED_SUFFIXES))
def test_random_bytes_read_or_fail_in_one_line(content, suffix):
    read_or_input_error(content, suffix)


@SETTINGS
@given(document=st.binary(max_size=2000))
def test_a_docx_with_random_bytes_for_its_text_reads_or_fails_in_one_line(document):
    read_or_input_error(docx_of(document), ".docx")


@SETTINGS
@given(
    members=st.dictionaries(
        st.sampled_from(["_rels/.rels", "word/document.xml", "[Content_Types].xml"])
        | st.text(alphabet="abcdefghij_/.", min_size=1, max_size=20).filter(lambda n: not n.endswith("/")),
        st.binary(max_size=300)
        | st.sampled_from([b"<Relationships/>", paragraphs_xml(["P: hi"]).encode(), b"<?xml"]),
        max_size=5,
    )
)
def test_a_zip_of_random_members_named_docx_reads_or_fails_in_one_line(members):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as package:
        for name, data in members.items():
            package.writestr(name, data)
    read_or_input_error(buffer.getvalue(), ".docx")


# Text a transcript line may hold: any printable character, rich markup, XML specials, RTL marks.
odd_text = st.text(
    alphabet=st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp"), blacklist_characters="\x85"),
    min_size=1,
    max_size=200,
).map(str.strip).filter(bool) | st.sampled_from(
    ["[/]", "[bold]x[/bold]", "&amp; <w:p/>", "=1+1", "\u202ehello"]
)
labels = st.sampled_from(["I", "P", "Interviewer", "Participant", "Q", "R"])


@SETTINGS
@given(turns=st.lists(st.tuples(labels, odd_text), min_size=1, max_size=12), case=odd_text)
def test_well_formed_but_odd_transcripts_read_back_as_written(turns, case):
    case = " ".join(case.split())
    text = f"# case: {case}\n" + "".join(f"{label}: {' '.join(body.split())}\n" for label, body in turns)
    read = read_or_input_error(text.encode("utf-8"), ".txt")
    event("read" if read is not None else "refused in one line")
    if read is None:  # a body line that itself looks like "Label: ..." or "# ..." is refused clearly
        return
    assert read.case == case or not case
    assert [(t.label, t.text) for t in read.turns] == [(label, " ".join(b.split())) for label, b in turns]
    assert render_text(read) == render_text(read_or_input_error(render_text(read).encode(), ".txt"))


@SETTINGS
@given(lines=st.lists(odd_text, min_size=1, max_size=10))
def test_well_formed_docx_with_odd_text_reads_or_fails_in_one_line(lines):
    from xml.sax.saxutils import escape

    read_or_input_error(docx_of(paragraphs_xml([escape(f"P: {line}") for line in lines]).encode()), ".docx")


@pytest.mark.parametrize("suffix", SUPPORTED_SUFFIXES)
def test_an_empty_file_is_an_input_error(tmp_path, suffix):
    path = tmp_path / f"empty{suffix}"
    path.write_bytes(b"")
    with pytest.raises(InputError):
        read_transcript(path)
