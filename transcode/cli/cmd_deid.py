"""`transcode deid`: de-identify transcripts into a folder, with a report (CONTRACT section 4).

Every file is read, checked and de-identified in memory before anything is
written; the outputs are staged in a temporary folder beside ``--out`` and
moved in at the end, so bad input leaves nothing behind. The report and the
decisions file hold positions and placeholders only; original values are
written only into the encrypted ``--key`` file.
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
    progress_bar,
)
from transcode.errors import InputError

REPORT_NAME = "deid-report.json"
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
    key_passphrase: Annotated[
        str | None,
        typer.Option(
            "--key-passphrase",
            envvar="TRANSCODE_KEY_PASSPHRASE",
            show_envvar=True,
            help="Passphrase for --key (at least 8 characters).",
        ),
    ] = None,
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
    """De-identify transcripts: same format and file name in --out, plus deid-report.json."""
    from transcode.deid import Deidentifier, apply_detections, load_known_names
    from transcode.deid.keyfile import check_passphrase, key_entry, write_key_file
    from transcode.deid.review import apply_decisions, decision_records, read_decisions, review_case, rich_ask
    from transcode.pipeline import read_all

    if out.exists() and not out.is_dir():
        raise InputError("--out must be a folder", str(out))
    if key is not None:
        check_passphrase(key_passphrase)
        if key.exists() and key.is_dir() or not key.parent.is_dir():
            raise InputError("--key must be a file in an existing folder", str(key))
        if out.resolve() == key.parent.resolve():
            raise InputError("keep the key file out of the de-identified output folder", str(key))
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

    out.parent.mkdir(parents=True, exist_ok=True)
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
        (staging / REPORT_NAME).write_text(json.dumps(report, indent=2, ensure_ascii=False), encoding="utf-8")
        if review:
            records = {
                name: decision_records(case, decided[name], result)
                for name, case, result in zip(output_names, cases, results, strict=True)
            }
            document = {
                "reviewed_at": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
                "files": records,
            }
            (staging / DECISIONS_NAME).write_text(json.dumps(document, indent=2), encoding="utf-8")
        out.mkdir(parents=True, exist_ok=True)
        for path in staging.iterdir():
            os.replace(path, out / path.name)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    if key is not None:
        write_key_file(
            key,
            {name: key_entry(result) for name, result in zip(output_names, results, strict=True)},
            key_passphrase or "",
        )

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
        err_console.print(f"de-identified {len(results)} file(s), {total} replacement(s) -> {out}")


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
        from docx import Document

        return "\n".join(p.text for p in Document(str(path)).paragraphs)
    return path.read_text(encoding="utf-8")


def _line_of(line_starts: list[int], offset: int) -> int:
    from bisect import bisect_right

    return bisect_right(line_starts, offset)


def register(app: typer.Typer) -> None:
    app.command("deid")(deid)
