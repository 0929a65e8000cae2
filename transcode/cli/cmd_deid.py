"""`transcode deid`: de-identify transcripts into a folder, with a report (CONTRACT section 4).

Every file is read, checked and de-identified in memory before anything is
written, and ``--out`` and ``--key`` are checked before the work; the outputs are
staged in a private temporary folder beside ``--out``, the key file is written in
full, and only then are the outputs moved in, so bad input leaves nothing behind
and outputs never appear without their key. The report and the decisions file
hold positions and placeholders only; original values are written only into the
encrypted ``--key`` file, read back with ``transcode deid key show FILE``.
"""

from __future__ import annotations

import datetime
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperCommand

from transcode.cli.common import (
    DEFAULT_DB,
    DbOption,
    InterviewerOption,
    JsonOption,
    NamesOption,
    OtherSpeakersOption,
    ParticipantOption,
    emit_json,
    err_console,
    ingest_options,
    out_console,
    progress_bar,
)
from transcode.errors import InputError
from transcode.files import check_output_file, check_output_folder, ensure_folder, write_atomic

REPORT_NAME = "deid-report.json"
KeyPassphraseOption = Annotated[
    str | None,
    typer.Option(
        "--key-passphrase",
        envvar="TRANSCODE_KEY_PASSPHRASE",
        show_envvar=True,
        help="Passphrase of the key file, at least 8 characters (else typed at the terminal).",
    ),
]
DECISIONS_NAME = "deid-decisions.json"


def deid(
    files: Annotated[list[Path], typer.Argument(help="Transcripts (.txt .docx .vtt .srt .csv).")],
    out: Annotated[
        Path, typer.Option("--out", help="Folder for the de-identified files and deid-report.json.")
    ],
    names: NamesOption = None,
    review: Annotated[
        bool,
        typer.Option(
            "--review", help="List every replacement and ask to accept, restore or add (answers on stdin)."
        ),
    ] = False,
    decisions: Annotated[
        Path | None,
        typer.Option("--decisions", help="Re-apply a deid-decisions.json written by an earlier --review."),
    ] = None,
    key: Annotated[
        Path | None,
        typer.Option(
            "--key", help="Also write the placeholder -> original mapping, encrypted, to this file."
        ),
    ] = None,
    key_passphrase: KeyPassphraseOption = None,
    strict_dates: Annotated[
        bool, typer.Option("--strict-dates", help="Also remove months named without a day or year.")
    ] = False,
    redact_groups: Annotated[
        bool,
        typer.Option("--redact-groups", help="Also remove nationalities, religions and political groups."),
    ] = False,
    presidio: Annotated[
        bool, typer.Option("--presidio/--no-presidio", help="Use Presidio's pattern recognisers as well.")
    ] = True,
    interviewer: InterviewerOption = None,
    participant: ParticipantOption = None,
    other_speakers: OtherSpeakersOption = "error",
    db: DbOption = DEFAULT_DB,
    json_out: JsonOption = False,
) -> None:
    """De-identify transcripts: same format and file name in --out, plus deid-report.json.

    Read a key file back with `transcode deid key show FILE`.
    """
    from transcode.deid import Deidentifier, apply_detections, load_known_names
    from transcode.deid.keyfile import ask_passphrase, check_passphrase, key_entry, write_key_file
    from transcode.deid.review import apply_decisions, decision_records, read_decisions, review_case, rich_ask
    from transcode.pipeline import read_all

    if out.exists() and not out.is_dir():
        raise InputError("--out must be a folder", str(out))
    check_output_folder(out)
    if key is not None:
        check_output_file(key)
        if out.resolve() == key.parent.resolve():
            raise InputError("keep the key file out of the de-identified output folder", str(key))
        if key_passphrase is not None:
            check_passphrase(key_passphrase)
        else:
            key_passphrase = ask_passphrase(confirm=True, source=str(key))
    known = load_known_names(names) if names else ()
    recorded = read_decisions(decisions) if decisions else {}
    transcripts = read_all(files, ingest_options(interviewer, participant, other_speakers))
    output_names = [Path(t.source or f"{t.case}.txt").name for t in transcripts]
    duplicates = {n for n in output_names if output_names.count(n) > 1}
    if duplicates:
        raise InputError(f"two inputs share the output name {sorted(duplicates)[0]!r}")
    if REPORT_NAME in output_names or DECISIONS_NAME in output_names:
        raise InputError(f"an input is named like the report ({REPORT_NAME} / {DECISIONS_NAME})")

    deidentifier = Deidentifier(
        known, use_presidio=presidio, strict_dates=strict_dates, redact_groups=redact_groups
    )
    with progress_bar("de-identify", len(transcripts), quiet=review) as bar:
        cases = []
        for transcript in transcripts:
            cases.append(deidentifier.detect(transcript))
            bar.advance()
    decided: dict[str, list] = {}
    for index, (name, case) in enumerate(zip(output_names, cases, strict=True)):
        if name in recorded:
            cases[index] = apply_decisions(case, recorded[name])
        if review:
            decided[name] = review_case(cases[index], err_console, rich_ask(err_console), title=name)
            cases[index] = apply_decisions(cases[index], decided[name])
    results = [apply_detections(case) for case in cases]

    ensure_folder(out.parent)
    staging = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.staging-"))
    try:
        report_files = []
        for name, result, transcript in zip(output_names, results, transcripts, strict=True):
            report_files.append(_write_output(staging / name, name, transcript.source, result))
        report = {
            "version": 1,
            "files": report_files,
            "offsets": "start/end: characters in the output file's text (a .docx: its paragraphs "
            "joined by newlines); turn_start/turn_end: in the turn's text or metadata value",
        }
        write_atomic(staging / REPORT_NAME, json.dumps(report, indent=2, ensure_ascii=False))
        if review:
            records = {
                name: decision_records(case, decided[name], result)
                for name, case, result in zip(output_names, cases, results, strict=True)
            }
            document = {
                "reviewed_at": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
                "files": records,
            }
            write_atomic(staging / DECISIONS_NAME, json.dumps(document, indent=2))
        if key is not None:
            # The key first: outputs never appear without it (a full disk here leaves nothing).
            write_key_file(
                key,
                {name: key_entry(result) for name, result in zip(output_names, results, strict=True)},
                key_passphrase or "",
            )
        _move_in(staging, out)
    except OSError as err:
        raise InputError(f"cannot write: {err.strerror or err}", err.filename or str(out)) from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)

    total = sum(len(r.replacements) for r in results)
    summary = {
        "out": str(out),
        "report": str(out / REPORT_NAME),
        "decisions": str(out / DECISIONS_NAME) if review else None,
        "key": str(key) if key else None,
        "files": [
            {
                "file": name,
                "case": result.transcript.case,
                "output": str(out / name),
                "replacements": len(result.replacements),
                "counts": result.counts(),
            }
            for name, result in zip(output_names, results, strict=True)
        ],
    }
    if json_out:
        emit_json(summary)
    else:
        err_console.print(
            f"de-identified {len(results)} file(s), {total} replacement(s) -> {out}", markup=False
        )


def _move_in(staging: Path, out: Path) -> None:
    """A new --out folder is the staging folder renamed (one step); an existing one gets its files."""
    if not out.exists():
        os.replace(staging, out)
        return
    for path in staging.iterdir():
        os.replace(path, out / path.name)


def _write_output(path: Path, name: str, source: str | None, result) -> dict[str, Any]:
    """Write one de-identified transcript and describe its replacements by position in that file."""
    from transcode.ingest import write_transcript

    write_transcript(result.transcript, path)
    text = _output_text(path)
    line_starts = [0] + [i + 1 for i, c in enumerate(text) if c == "\n"]
    cursor = 0
    replacements = []
    for r in result.replacements:
        start = text.find(r.placeholder, cursor)
        if start < 0:
            raise RuntimeError(f"{name}: placeholder {r.placeholder} not found in the written output")
        cursor = start + len(r.placeholder)
        line = _line_of(line_starts, start)
        replacements.append(
            {
                "type": r.type,
                "placeholder": r.placeholder,
                "start": start,
                "end": cursor,
                "line": line,
                "turn": r.turn,
                "field": r.field,
                "turn_start": r.start,
                "turn_end": r.end,
            }
        )
    return {
        "file": name,
        "source": source,
        "case": result.transcript.case,
        "counts": result.counts(),
        "replacements": replacements,
    }


def _output_text(path: Path) -> str:
    if path.suffix.lower() == ".docx":
        from transcode.ingest import docx_paragraphs

        return "\n".join(docx_paragraphs(path))
    return path.read_text(encoding="utf-8")


def _line_of(line_starts: list[int], offset: int) -> int:
    from bisect import bisect_right

    return bisect_right(line_starts, offset)


key_app = typer.Typer(help="The encrypted re-identification key written by `transcode deid --key`.")


@key_app.command("show")
def key_show(
    file: Annotated[Path, typer.Argument(help="A key file written by `transcode deid --key`.")],
    key_passphrase: KeyPassphraseOption = None,
    json_out: JsonOption = False,
) -> None:
    """Decrypt a key file and show, per de-identified file, each placeholder and its original."""
    from rich.table import Table
    from rich.text import Text

    from transcode.deid.keyfile import ask_passphrase, read_key_file

    passphrase = key_passphrase or ask_passphrase(confirm=False, source=str(file))
    document = read_key_file(file, passphrase)
    if json_out:
        emit_json(document)
        return
    table = Table(title=Text(f"re-identification key {file}"))
    for column in ("file", "case", "placeholder", "original"):
        table.add_column(column)
    for name, entry in document.get("files", {}).items():
        for placeholder, original in (entry.get("placeholders") or {}).items():
            table.add_row(*(Text(str(v)) for v in (name, entry.get("case", ""), placeholder, original)))
    out_console.print(table)


class _DeidCommand(TyperCommand):
    """``transcode deid FILES...``, and ``transcode deid key show FILE`` for the key file.

    A command cannot also be a group in click, so ``deid key ...`` is routed to the key commands
    here (a transcript is never called ``key``: it needs a suffix)."""

    def make_context(self, info_name, args, parent=None, **extra):
        if args[:1] == ["key"]:
            from typer._click import Context

            keys = typer.main.get_group(key_app)
            # The parent stands for "transcode deid" without its FILES, so usage lines read right.
            deid_alone = Context(TyperCommand(info_name), parent=parent, info_name=info_name)
            return keys.make_context("key", list(args[1:]), parent=deid_alone)
        return super().make_context(info_name, args, parent=parent, **extra)


def register(app: typer.Typer) -> None:
    app.command("deid", cls=_DeidCommand)(deid)
