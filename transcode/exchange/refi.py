"""REFI-QDA exchange: a project as ``.qdpx`` (project.qde + sources/) and the codebook as ``.qdc``.

Mapping (REFI-QDA Project Exchange Standard, schemas in ``schema/``; docs/formats.md section 10):

- domains become codes, their categories codes nested in them, and the domains a Set (plus one
  ``Other (no domain)`` code for units the team put in no domain); protocol questions follow
  each domain's description;
- each transcript becomes a TextSource (its base name) whose plain text is ``LABEL: text`` per turn;
- each thought unit becomes one PlainTextSelection per coder, ``creatingUser`` on the selection
  and on its Codings: every judge's *current* codes, and the consensus codes by a ``consensus``
  user;
- cases become Cases with their attributes as Text variables.

Notes named ``transcode metadata`` (:mod:`~transcode.exchange.refi_meta`) carry what the standard
has no slot for, so a transcode-to-transcode round trip is lossless; files from other tools are
read from the standard elements (:mod:`~transcode.exchange.refi_read`), and their text goes
through de-identification before anything is stored. The decision log's history, model
proposals and core ideas are not in the .qdpx (the CSV/Excel tables carry them).

The XML side is pure (bytes in, plain data out, and back); the store is read and written by
:mod:`transcode.store.snapshot`, writing in one transaction; archives are read under size limits
(:mod:`~transcode.exchange.archive`).
"""

from __future__ import annotations

import shutil
import tempfile
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from transcode.codebook import Codebook
from transcode.errors import InputError
from transcode.exchange.archive import DEFAULT_LIMITS, ArchiveLimits, BoundedArchive, MiB
from transcode.exchange.refi_read import QdpxContent, parse_codebook_document, parse_project
from transcode.exchange.refi_write import (
    codebook_document,
    project_document,
    render_source,
    source_files,
    write_project,
)
from transcode.exchange.refi_xml import (
    CONSENSUS_USER,
    METADATA_NOTE,
    OTHER,
    OTHER_CODE_NAME,
    PROJECT_NS,
    guid,
    schema_errors,
    streamed_schema_errors,
)
from transcode.files import atomic_writer, write_atomic
from transcode.ingest import SpeakerRoles
from transcode.store import Store
from transcode.store.snapshot import (
    ProjectSnapshot,
    TranscriptData,
    UnitData,
    project_summary,
    read_snapshot,
    write_snapshot,
)

__all__ = [
    "CONSENSUS_USER",
    "METADATA_NOTE",
    "OTHER",
    "OTHER_CODE_NAME",
    "PROJECT_NS",
    "ArchiveLimits",
    "QdpxContent",
    "codebook_document",
    "deidentify_content",
    "export_qdc",
    "export_qdpx",
    "guid",
    "import_qdpx",
    "load_qdpx",
    "parse_codebook_document",
    "parse_project",
    "project_document",
    "project_summary",
    "read_qdc",
    "read_qdpx",
    "read_snapshot",
    "render_source",
    "schema_errors",
    "write_snapshot",
]


def now_utc() -> str:
    return datetime.now(UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


# -- archive edges ---------------------------------------------------------------------------------
def load_qdpx(
    path: str | Path, *, roles: SpeakerRoles | None = None, limits: ArchiveLimits = DEFAULT_LIMITS
) -> QdpxContent:
    """Read and check a .qdpx: only project.qde and the files it references are decompressed, each
    under ``limits``. Raises InputError naming what is wrong."""
    path = Path(path)
    if not path.is_file():
        raise InputError("file not found" if not path.exists() else "not a regular file", str(path))
    with BoundedArchive(path, limits) as archive:
        if archive.find("project.qde") is None:
            found = ", ".join(archive.names()[:5]) or "nothing"
            raise InputError(
                f"no project.qde in the archive (found: {found}); "
                "a .qdpx holds project.qde and a sources/ folder",
                str(path),
            )
        data = archive.read("project.qde")

        def member(where: str) -> bytes:
            name = where.removeprefix("internal://")
            if name == where or not name or "/" in name or "\\" in name or name.startswith("."):
                raise InputError(
                    f"the project points to {where!r}; transcode reads only files inside the archive "
                    "(internal://NAME)",
                    str(path),
                )
            found = archive.find(f"sources/{name}", folder_any_case=True)
            if found is None:
                raise InputError(f"the project points to {where!r}, which is not in the archive", str(path))
            return archive.read(found)

        return parse_project(data, member, str(path), roles)


def read_qdpx(path: str | Path) -> ProjectSnapshot:
    """The project in a .qdpx, as read (before de-identification; see :func:`import_qdpx`)."""
    return load_qdpx(path).snapshot


def read_qdc(path: str | Path) -> Codebook:
    path = Path(path)
    if not path.is_file():
        raise InputError("file not found" if not path.exists() else "not a regular file", str(path))
    data = path.read_bytes()
    if len(data) > DEFAULT_LIMITS.member_bytes:
        raise InputError(f"larger than {DEFAULT_LIMITS.member_bytes:,} bytes; not a codebook", str(path))
    return parse_codebook_document(data, str(path))


# -- de-identification of what came from elsewhere ----------------------------------------------------
def deidentify_content(
    content: QdpxContent,
    known_names: Iterable[str] = (),
    on_progress: Callable[[int], None] | None = None,
) -> QdpxContent:
    """De-identify the transcripts that did not come from transcode, as ``transcode import`` does.

    Turn text, transcript metadata, the case name and the source's file name go through
    :func:`transcode.deid.deidentify`; units keep their place (offsets move with the placeholders;
    a unit that ended inside a replaced name ends after its placeholder). A case or file name in
    which an identifier was found is replaced by ``case-N`` (and ``case-N.txt``), with a warning.
    """
    from transcode.deid import deidentify
    from transcode.transcript import Transcript, Turn

    names = tuple(known_names)
    snapshot = content.snapshot
    renamed: dict[str, str] = {}
    unit_keys: dict[str, str] = {}
    for index, t in enumerate(snapshot.transcripts):
        if t.case not in content.foreign_cases:
            continue
        labels = {"\x00case": t.case, "\x00source": Path(t.source_name).stem}
        original = Transcript(
            case=t.case,
            turns=tuple(Turn(x.role, x.label, x.text, x.line) for x in t.turns),  # type: ignore[arg-type]
            metadata={**t.metadata, **labels},
            source=t.source_name,
        )
        result = deidentify(original, known_names=names)
        clean = result.transcript
        shifts: dict[int, list[tuple[int, int, int, int]]] = {}
        for r in result.replacements:
            if r.turn is not None:
                shifts.setdefault(r.turn, []).append((r.source_start, r.source_end, r.start, r.end))
        turns = tuple(replace(x, text=c.text) for x, c in zip(t.turns, clean.turns, strict=True))
        units = tuple(_moved(u, shifts.get(u.turn - 1, []), turns) for u in t.units)
        metadata = {k: v for k, v in clean.metadata.items() if k not in labels}
        case, source_name = t.case, t.source_name
        if clean.metadata["\x00case"] != t.case:
            case = renamed[t.case] = f"case-{index + 1:02d}"
            content.warnings.append(f"the name of case {index + 1} looked identifying; it is now {case!r}")
        if clean.metadata["\x00source"] != Path(t.source_name).stem:
            source_name = f"{case}{Path(t.source_name).suffix or '.txt'}"
            content.warnings.append(
                f"the file name of source {index + 1} looked identifying; it is now {source_name!r}"
            )
        if case != t.case:
            renamed_units = {u.key: f"{case}-{u.position:04d}" for u in units}
            unit_keys.update(renamed_units)
            units = tuple(replace(u, key=renamed_units[u.key]) for u in units)
        snapshot.transcripts[index] = TranscriptData(case, source_name, metadata, turns, units)
        if on_progress:
            on_progress(1)
    if renamed:
        snapshot.cases = {renamed.get(k, k): v for k, v in snapshot.cases.items()}
        snapshot.judge_codes = {
            j: {unit_keys.get(k, k): d for k, d in codes.items()} for j, codes in snapshot.judge_codes.items()
        }
        snapshot.consensus = {unit_keys.get(k, k): d for k, d in snapshot.consensus.items()}
    return content


def _moved(unit: UnitData, shifts: list[tuple[int, int, int, int]], turns) -> UnitData:
    """``unit`` in its turn's de-identified text: offsets move by the length change of every
    replacement before them; one that falls inside a replaced span moves to that span's edge."""

    def place(offset: int, is_end: bool) -> int:
        moved = offset
        for source_start, source_end, start, end in shifts:
            if source_end <= offset:
                moved += (end - start) - (source_end - source_start)
            elif source_start < offset < source_end:
                return (end if is_end else start) + (moved - offset)
        return moved

    start, end = place(unit.start, False), place(unit.end, True)
    text = turns[unit.turn - 1].text
    question = unit.question
    asked = next(
        (turns[i].text for i in range(unit.turn - 2, -1, -1) if turns[i].role == "interviewer"), None
    )
    if question is not None:
        question = asked
    return replace(unit, start=start, end=end, text=text[start:end], question=question)


# -- the store ------------------------------------------------------------------------------------------
def export_qdpx(store: Store, path: str | Path) -> dict:
    """Write the project as a .qdpx; the file appears only when complete.

    ``project.qde`` is streamed to a temporary file (a source at a time), checked against the
    REFI-QDA schema as it is read back, and streamed into the archive with the source texts, so
    no copy of the whole document is held in memory."""
    snapshot = read_snapshot(store)
    with tempfile.TemporaryFile() as document:
        write_project(snapshot, now_utc(), document)
        document.seek(0)
        errors = streamed_schema_errors(document, "project")
        if errors:
            raise RuntimeError(f"exported project.qde breaks the REFI-QDA schema: {errors[0]}")
        document.seek(0)
        with (
            atomic_writer(path, binary=True) as stream,
            zipfile.ZipFile(stream, "w", zipfile.ZIP_DEFLATED) as archive,
        ):
            with archive.open("project.qde", "w", force_zip64=True) as member:
                shutil.copyfileobj(document, member, MiB)
            for name, content in sorted(source_files(snapshot)):
                archive.writestr(name, content)
    return project_summary(snapshot)


def export_qdc(store: Store, path: str | Path) -> dict:
    codebook = store.codebook()
    if codebook is None:
        raise InputError("the store holds no codebook; add one before exporting")
    document = codebook_document(codebook, read_snapshot(store).categories)
    errors = schema_errors(document, "codebook")
    if errors:
        raise RuntimeError(f"exported codebook breaks the REFI-QDA schema: {errors[0]}")
    write_atomic(path, document)
    return {"codes": len(codebook.domains)}


def import_qdpx(path: str | Path, store: Store, *, known_names: Iterable[str] = ()) -> dict:
    """Read, check, de-identify (text from other tools) and load a .qdpx into ``store``; nothing is
    written unless all of it is good."""
    content = deidentify_content(load_qdpx(path), known_names)
    return {**write_snapshot(store, content.snapshot), "warnings": content.warnings}
