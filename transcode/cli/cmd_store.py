"""`transcode init`, `transcode import` and `transcode status`: the project store from the shell."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

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
    read_known_names,
)
from transcode.errors import InputError


def init(
    db: DbOption = DEFAULT_DB,
    name: Annotated[str, typer.Option("--name", help="Project name.")] = "transcode project",
    codebook: Annotated[str | None, typer.Option("--codebook", help="Codebook YAML to load.")] = None,
    json_out: JsonOption = False,
) -> None:
    """Create (or upgrade) a project store.

    A changed codebook becomes a new version only while it orphans no code; renaming, merging,
    splitting or retiring domains that hold codes is `transcode codebook apply`."""
    from transcode.codebook import load_codebook
    from transcode.coding.codebook_ops import store_initial_or_compatible
    from transcode.store import open_store

    book = load_codebook(codebook) if codebook else None
    with open_store(db, create=True, project=name) as store:
        try:
            version = store_initial_or_compatible(store, book) if book else None
        except InputError as err:
            raise err.at(path=err.path or codebook) from None
        project = store.status().project
        label = store.label
    if json_out:
        emit_json({"db": label, "project": project, "codebook_version": version})
    else:
        err_console.print(
            f"store ready at {label}" + (f" (codebook v{version})" if version else ""), markup=False
        )


def import_(
    files: Annotated[list[Path], typer.Argument(help="Transcripts (.txt .docx .vtt .srt .csv).")],
    db: DbOption = DEFAULT_DB,
    codebook: Annotated[
        str | None, typer.Option("--codebook", help="Codebook YAML to store with them.")
    ] = None,
    cases: Annotated[str | None, typer.Option("--cases", help="CASES.csv with case attributes.")] = None,
    names: NamesOption = None,
    interviewer: InterviewerOption = None,
    participant: ParticipantOption = None,
    other_speakers: OtherSpeakersOption = "error",
    json_out: JsonOption = False,
) -> None:
    """De-identify, split and load transcripts into the store: one transaction, all of them or none."""
    from transcode.codebook import load_codebook
    from transcode.cross.io import read_cases
    from transcode.pipeline import prepare, read_all
    from transcode.store import open_store

    book = load_codebook(codebook) if codebook else None
    attributes = read_cases(cases) if cases else None
    transcripts = read_all(files, ingest_options(interviewer, participant, other_speakers))
    known = read_known_names(names)
    with open_store(db) as store:
        with progress_bar("de-identify + split", len(transcripts)) as bar:
            prepared = prepare(transcripts, known_names=known, on_progress=bar.advance)
        results = store.import_cases(
            [(c.transcript, c.units) for c in prepared], codebook=book, attributes=attributes
        )
    summary = [
        {
            "case": c.transcript.case,
            "units": len(c.units),
            "replacements": c.replacements,
            "result": results[c.transcript.case],
        }
        for c in prepared
    ]
    if json_out:
        emit_json({"imported": summary})
        return
    table = Table(title="imported")
    for column in ("case", "units", "replacements", "result"):
        table.add_column(column)
    for row in summary:
        table.add_row(*(Text(str(row[k])) for k in ("case", "units", "replacements", "result")))
    err_console.print(table)


def status(db: DbOption = DEFAULT_DB, json_out: JsonOption = False) -> None:
    """What is in the store: cases and their phases, units, coded, agreed.

    Units coded are counted only in cases past independent coding: while a case is coded blind,
    nobody learns from here how far the other judges are (`transcode phase` shows who finished).
    """
    from transcode.store import open_store

    with open_store(db) as store:
        state = store.status()
        label = store.label
    if json_out:
        emit_json(state.as_dict())
        return
    table = Table(title=Text(f"{state.project} ({label})"))
    table.add_column("what")
    table.add_column("count", justify="right")
    for label, value in [
        ("cases", state.cases),
        ("transcripts", state.transcripts),
        ("thought units", state.units),
        ("cases by phase", _by_phase(state.phases) or "-"),
        ("units coded (cases past independent)", state.coded),
        ("units with consensus", state.agreed),
        ("codebook version", state.codebook_version or "-"),
        ("judges", ", ".join(state.judges) or "-"),
    ]:
        table.add_row(label, Text(str(value)))
    out_console.print(table)


def _by_phase(phases: dict[str, str]) -> str:
    from transcode.coding.phases import PHASES

    counts = {phase: sum(p == phase for p in phases.values()) for phase in PHASES}
    return ", ".join(f"{phase} {n}" for phase, n in counts.items() if n)


def register(app: typer.Typer) -> None:
    app.command("init")(init)
    app.command("import")(import_)
    app.command("status")(status)
