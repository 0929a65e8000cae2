"""Read transcripts (txt, docx, WebVTT, SRT, CSV) into speaker turns, and write them back.

The text format is docs/formats.md section 1. Every malformed input raises
:class:`InputError` naming the file and, where there is one, the line.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence
from pathlib import Path

from transcode.errors import InputError
from transcode.transcript import SpeakerRole, Transcript, Turn

DEFAULT_INTERVIEWER_LABELS = ("I", "Q", "INT", "Interviewer", "Int")
DEFAULT_PARTICIPANT_LABELS = (
    "P",
    "R",
    "A",
    "Participant",
    "Respondent",
    "Interviewee",
    "T",
    "Therapist",
    "C",
    "Client",
)
SUPPORTED_SUFFIXES = (".txt", ".docx", ".vtt", ".srt", ".csv")
#: The longest turn (or header value) read: spaCy's limit for one text (its E088).
MAX_TURN_CHARS = 1_000_000

_HEADER = re.compile(r"^#\s*([\w -]+?)\s*:\s*(.*?)\s*$")
# A speaker label: up to three short words at the start of an unindented line, then a colon.
_LABEL = re.compile(r"^([A-Za-z][\w.'-]*(?: [A-Za-z][\w.'-]*){0,2})\s*:\s?(.*)$")
_TIMESTAMP = re.compile(r"^\s*\d{1,2}:\d{2}")
_LINE_BREAK = re.compile(r"\r\n|\r|\n")


def split_lines(text: str) -> list[str]:
    """Lines split at CR, LF or CRLF only: ``str.splitlines`` also splits at U+2028, U+0085, form
    feeds and the like, which are text inside a turn, not line breaks."""
    lines = _LINE_BREAK.split(text)
    return lines[:-1] if lines and lines[-1] == "" else lines


class SpeakerRoles:
    """Maps a speaker label to interviewer / participant / other, case-insensitively."""

    def __init__(
        self,
        interviewer_labels: Sequence[str] | None = None,
        participant_labels: Sequence[str] | None = None,
        other_speakers: str = "error",
    ) -> None:
        if other_speakers not in ("error", "keep"):
            raise InputError(f"--other-speakers must be 'error' or 'keep', not {other_speakers!r}")
        self.interviewer = {s.casefold() for s in (interviewer_labels or DEFAULT_INTERVIEWER_LABELS)}
        self.participant = {s.casefold() for s in (participant_labels or DEFAULT_PARTICIPANT_LABELS)}
        overlap = self.interviewer & self.participant
        if overlap:
            raise InputError(f"label(s) {sorted(overlap)} given as both interviewer and participant")
        self.keep_others = other_speakers == "keep"

    def role(self, label: str) -> SpeakerRole | None:
        key = label.strip().casefold()
        if key in self.interviewer:
            return "interviewer"
        if key in self.participant:
            return "participant"
        return "other" if self.keep_others else None


def read_transcript(
    path: str | Path,
    *,
    interviewer_labels: Sequence[str] | None = None,
    participant_labels: Sequence[str] | None = None,
    other_speakers: str = "error",
) -> Transcript:
    """Read one transcript file; the format follows the file's suffix."""
    path = Path(path)
    roles = SpeakerRoles(interviewer_labels, participant_labels, other_speakers)
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise InputError(
            f"unsupported file type {suffix or '(none)'}; expected one of {', '.join(SUPPORTED_SUFFIXES)}",
            str(path),
        )
    if not path.is_file():
        raise InputError("no such file" if not path.exists() else "not a regular file", str(path))
    if suffix == ".docx":
        lines = docx_paragraphs(path)
        transcript = parse_text_lines(lines, roles, str(path), default_case=path.stem)
    else:
        text = read_text(path)
        if suffix == ".txt":
            transcript = parse_text_lines(split_lines(text), roles, str(path), default_case=path.stem)
        elif suffix == ".csv":
            transcript = _parse_csv(text, roles, str(path), path.stem)
        else:
            transcript = _parse_captions(text, suffix, roles, str(path), path.stem)
    if not transcript.turns:
        raise InputError("empty transcript: no speaker turns found", str(path))
    _check_lengths(transcript, str(path))
    return transcript


def _check_lengths(transcript: Transcript, source: str) -> None:
    for turn in transcript.turns:
        if len(turn.text) > MAX_TURN_CHARS:
            raise InputError(
                f"a turn of {len(turn.text):,} characters (at most {MAX_TURN_CHARS:,}): split it",
                source,
                turn.line,
            )
    for key, value in transcript.metadata.items():
        if len(value) > MAX_TURN_CHARS:
            raise InputError(f"header {key!r} is longer than {MAX_TURN_CHARS:,} characters", source)


def read_text(path: Path) -> str:
    """Decode a file as UTF-8 (BOM allowed); binary or undecodable content is an InputError."""
    data = path.read_bytes()
    if b"\x00" in data:
        line = data[: data.index(b"\x00")].count(b"\n") + 1
        raise InputError("binary content (NUL byte), not a text transcript", str(path), line)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = data[: err.start].count(b"\n") + 1
        raise InputError(f"not valid UTF-8 text (byte 0x{data[err.start]:02x})", str(path), line) from None


def parse_text_lines(lines: Iterable[str], roles: SpeakerRoles, source: str, default_case: str) -> Transcript:
    """Parse docs/formats.md section 1 lines; ``line`` numbers are 1-based positions in ``lines``."""
    metadata: dict[str, str] = {}
    turns: list[Turn] = []
    current: dict | None = None
    in_header = True

    def close() -> None:
        if current is not None:
            turns.append(
                Turn(current["role"], current["label"], " ".join(current["parts"]).strip(), current["line"])
            )

    for number, raw in enumerate(lines, start=1):
        line = raw.rstrip()
        if not line.strip():
            continue
        if in_header and line.lstrip().startswith("#"):
            header = _HEADER.match(line.strip())
            if header:
                metadata[header.group(1).strip().lower()] = header.group(2)
            continue
        in_header = False
        unindented = not raw[:1].isspace()
        match = _LABEL.match(line) if unindented and not _TIMESTAMP.match(line) else None
        if match:
            label = match.group(1)
            role = roles.role(label)
            if role is not None:
                close()
                current = {"role": role, "label": label, "parts": [match.group(2).strip()], "line": number}
                continue
            if _looks_like_speaker(label):
                raise InputError(
                    f"unknown speaker label {label!r} (use --interviewer/--participant "
                    "to declare it, or --other-speakers keep)",
                    source,
                    number,
                )
        if current is None:
            raise InputError("text before the first speaker label", source, number)
        current["parts"].append(line.strip())
    close()
    case = metadata.pop("case", "").strip() or default_case
    return Transcript(case=case, turns=tuple(turns), metadata=metadata, source=source)


def _looks_like_speaker(label: str) -> bool:
    """A label-like prefix: one or two words, e.g. 'Dr Smith' or 'P2'; 'And then she said' is prose."""
    words = label.split()
    return len(words) <= 2 and all(w[:1].isupper() or w[:1].isdigit() for w in words)


_OFFICE_DOCUMENT = (
    "http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument",
    "http://purl.oclc.org/ooxml/officeDocument/relationships/officeDocument",
)
_PACKAGE_RELS = "{http://schemas.openxmlformats.org/package/2006/relationships}Relationship"
_W_BODY = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}body"
_W_P = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}p"
#: A .docx transcript's main part: a two-hour interview is about 1 MB of XML.
DOCX_LIMITS = {"max_member": 64 << 20, "max_total": 80 << 20, "max_ratio": 100}


def docx_paragraphs(path: str | Path) -> list[str]:
    """The text of each body paragraph of a .docx, as python-docx's ``Document.paragraphs`` gives it.

    Only the package relationships and the main document part are unpacked, within the limits of
    :class:`~transcode.files.BoundedZip` (a zip bomb is refused before it unpacks), and the XML is
    streamed, one body element at a time, with entities left unexpanded and no network.
    """
    import zipfile
    import zlib

    from lxml import etree

    from transcode.files import BoundedZip

    where = str(path)
    with BoundedZip(path, kind=".docx file", **DOCX_LIMITS) as package:
        main = _main_part(package, where)
        paragraphs: list[str] = []
        parser = _docx_parser()
        try:
            with package.open(main) as stream:
                for chunk in iter(lambda: stream.read(1 << 16), b""):
                    parser.feed(chunk)
                    _collect(parser, paragraphs)
            parser.close()
            _collect(parser, paragraphs)
        except (etree.XMLSyntaxError, zipfile.BadZipFile, zlib.error, EOFError, OSError) as err:
            message = " ".join(str(err).split())[:120]
            raise InputError(f"not a readable .docx file ({type(err).__name__}: {message})", where) from None
    return paragraphs


def _main_part(package, where: str) -> str:
    from lxml import etree

    try:
        rels = etree.fromstring(package.read("_rels/.rels"), etree.XMLParser(resolve_entities=False))
    except etree.XMLSyntaxError:
        raise InputError("not a readable .docx file (bad _rels/.rels)", where) from None
    for rel in rels.iter(_PACKAGE_RELS):
        if rel.get("Type") in _OFFICE_DOCUMENT and rel.get("TargetMode") != "External":
            return (rel.get("Target") or "").lstrip("/")
    raise InputError("not a readable .docx file (no main document)", where)


def _docx_parser():
    import docx.oxml  # noqa: F401 - registers python-docx's element classes
    from docx.oxml.parser import element_class_lookup
    from lxml import etree

    parser = etree.XMLPullParser(
        events=("end",), resolve_entities=False, no_network=True, remove_blank_text=True, huge_tree=False
    )
    parser.set_element_class_lookup(element_class_lookup)
    return parser


def _collect(parser, paragraphs: list[str]) -> None:
    """Take the text of each finished body paragraph, then drop every finished body element."""
    for _event, element in parser.read_events():
        parent = element.getparent()
        if parent is None or parent.tag != _W_BODY:
            continue
        if element.tag == _W_P:
            paragraphs.append(element.text or "")
        element.clear()
        while element.getprevious() is not None:
            del parent[0]


def _parse_csv(text: str, roles: SpeakerRoles, source: str, default_case: str) -> Transcript:
    reader = csv.DictReader(io.StringIO(text, newline=""))
    try:
        fields = [f.strip().lower() for f in (reader.fieldnames or [])]
    except csv.Error as err:
        raise InputError(f"malformed CSV: {err}", source, 1) from None
    if "speaker" not in fields or "text" not in fields:
        raise InputError(f"CSV needs columns speaker,text (found: {', '.join(fields) or 'none'})", source, 1)
    reader.fieldnames = fields
    try:
        return _csv_turns(reader, roles, source, default_case)
    except csv.Error as err:
        raise InputError(f"malformed CSV: {err}", source, reader.line_num) from None


def _csv_turns(reader: csv.DictReader, roles: SpeakerRoles, source: str, default_case: str) -> Transcript:
    turns: list[Turn] = []
    for row in reader:
        number = reader.line_num
        if None in row:
            raise InputError("row has more fields than the header", source, number)
        label = (row.get("speaker") or "").strip()
        body = " ".join((row.get("text") or "").split())
        if not label and not body:
            continue
        role = roles.role(label)
        if role is None:
            raise InputError(
                f"unknown speaker label {label!r} (use --interviewer/--participant "
                "to declare it, or --other-speakers keep)",
                source,
                number,
            )
        start = _seconds(row.get("start"), source, number)
        end = _seconds(row.get("end"), source, number)
        if turns and turns[-1].label == label and not body:
            continue
        turns.append(Turn(role, label, body, number, start, end))
    return Transcript(case=default_case, turns=tuple(turns), metadata={}, source=source)


def _seconds(value: str | None, source: str, line: int) -> float | None:
    if value is None or not value.strip():
        return None
    value = value.strip()
    try:
        if ":" in value:
            total = 0.0
            for part in value.replace(",", ".").split(":"):
                total = total * 60 + float(part)
            return total
        return float(value)
    except ValueError:
        raise InputError(f"time {value!r} is not seconds or hh:mm:ss", source, line) from None


def _parse_captions(
    text: str, suffix: str, roles: SpeakerRoles, source: str, default_case: str
) -> Transcript:
    import webvtt
    from webvtt.errors import MalformedFileError

    try:
        captions = webvtt.from_buffer(io.StringIO(text), format=suffix[1:])
    except (MalformedFileError, ValueError, IndexError) as err:
        raise InputError(f"malformed {suffix[1:].upper()} captions: {err}", source) from None
    raw_lines = split_lines(text)
    cursor = 0
    turns: list[Turn] = []
    for caption in captions.captions:
        cursor = _find_timing_line(raw_lines, caption.start, cursor)
        body = " ".join(caption.text.split())
        label = caption.voice
        if not label:
            match = _LABEL.match(body)
            if match and roles.role(match.group(1)) is not None:
                label, body = match.group(1), match.group(2).strip()
        if not label:
            label = turns[-1].label if turns else ""
        if not label:
            raise InputError("caption has no speaker (<v Name> or 'Name:' prefix)", source, cursor + 1)
        role = roles.role(label)
        if role is None:
            raise InputError(
                f"unknown speaker label {label!r} (use --interviewer/--participant "
                "to declare it, or --other-speakers keep)",
                source,
                cursor + 1,
            )
        start, end = _seconds(caption.start, source, cursor + 1), _seconds(caption.end, source, cursor + 1)
        if turns and turns[-1].label == label:
            previous = turns[-1]
            turns[-1] = Turn(
                role, label, f"{previous.text} {body}".strip(), previous.line, previous.start, end
            )
        else:
            turns.append(Turn(role, label, body, cursor + 1, start, end))
    return Transcript(case=default_case, turns=tuple(turns), metadata={}, source=source)


def _find_timing_line(lines: list[str], start: str, cursor: int) -> int:
    for i in range(cursor, len(lines)):
        if "-->" in lines[i] and (start in lines[i] or start.replace(".", ",") in lines[i]):
            return i
    return cursor


def render_text(transcript: Transcript) -> str:
    """The text form (docs/formats.md section 1) of a transcript (headers, then one line per turn)."""
    header = [f"# case: {transcript.case}"] + [f"# {k}: {v}" for k, v in transcript.metadata.items()]
    return "\n".join(header + [f"{t.label}: {t.text}" for t in transcript.turns]) + "\n"


def write_transcript(transcript: Transcript, path: str | Path) -> None:
    """Write a transcript in the format named by ``path``'s suffix (atomically, private: 0600)."""
    from transcode.files import write_atomic

    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".txt":
        content: str | bytes = render_text(transcript)
    elif suffix == ".docx":
        from docx import Document

        document = Document()
        for line in render_text(transcript).splitlines():
            document.add_paragraph(line)
        buffer = io.BytesIO()
        document.save(buffer)
        content = buffer.getvalue()
    elif suffix == ".csv":
        text = io.StringIO(newline="")
        writer = csv.writer(text)
        writer.writerow(["speaker", "text", "start", "end"])
        for t in transcript.turns:
            writer.writerow([t.label, t.text, _fmt(t.start), _fmt(t.end)])
        content = text.getvalue()
    elif suffix in (".vtt", ".srt"):
        content = _render_captions(transcript, suffix)
    else:
        raise InputError(f"cannot write {suffix or 'files without a suffix'}", str(path))
    write_atomic(path, content)


def _fmt(seconds: float | None) -> str:
    return "" if seconds is None else f"{seconds:g}"


def _timestamp(seconds: float | None, sep: str) -> str:
    total_ms = round((seconds or 0.0) * 1000)
    hours, rest = divmod(total_ms, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    secs, ms = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}{sep}{ms:03d}"


def _render_captions(transcript: Transcript, suffix: str) -> str:
    out = ["WEBVTT", ""] if suffix == ".vtt" else []
    sep = "." if suffix == ".vtt" else ","
    for n, t in enumerate(transcript.turns, start=1):
        start = t.start if t.start is not None else float(n - 1)
        end = t.end if t.end is not None else start + 1
        if suffix == ".srt":
            out.append(str(n))
        out.append(f"{_timestamp(start, sep)} --> {_timestamp(end, sep)}")
        out.append(f"<v {t.label}>{t.text}" if suffix == ".vtt" else f"{t.label}: {t.text}")
        out.append("")
    return "\n".join(out)
