"""`transcode export`, `transcode import-qdpx`, `transcode import-qdc`: data to and from other tools.

REFI-QDA (.qdpx project, .qdc codebook) for NVivo, ATLAS.ti, MAXQDA and QualCoder; CSV files
and an Excel workbook for R, SPSS and spreadsheets.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape

from transcode.cli.common import (
    DEFAULT_DB,
    DbOption,
    InterviewerOption,
    JsonOption,
    NamesOption,
    ParticipantOption,
    emit_json,
    err_console,
    progress_bar,
    read_known_names,
)
from transcode.files import write_atomic

if TYPE_CHECKING:
    from transcode.store import Store


class ExportFormat(StrEnum):
    qdpx = "qdpx"
    qdc = "qdc"
    csv = "csv"
    xlsx = "xlsx"


def export(
    out: Annotated[
        Path, typer.Option("--out", help="File to write (for csv: a folder, one file per table).")
    ],
    fmt: Annotated[
        ExportFormat, typer.Option("--format", help="qdpx, qdc, csv or xlsx.")
    ] = ExportFormat.qdpx,
    db: DbOption = DEFAULT_DB,
    compare: Annotated[
        list[str] | None,
        typer.Option(
            "--compare", help="csv/xlsx: add subgroup columns to the cross-analysis (ATTR or ATTR=A:B)."
        ),
    ] = None,
    json_out: JsonOption = False,
) -> None:
    """Export the project: REFI-QDA project/codebook, or the tables as CSV / Excel.

    The tables include every judge's codes: export them after independent coding.
    """
    from transcode.cross.io import parse_compare
    from transcode.exchange import refi, tables
    from transcode.store import open_store

    for spec in compare or ():
        parse_compare(spec)  # a malformed spec stops before any work

    with open_store(db) as store:
        if fmt in (ExportFormat.qdpx, ExportFormat.qdc):
            with progress_bar(f"export {fmt.value}", 1, quiet=json_out) as bar:
                summary = (refi.export_qdpx if fmt == ExportFormat.qdpx else refi.export_qdc)(store, out)
                bar.advance()
        else:
            frames = {}
            with progress_bar("build tables", len(tables.BUILDERS), quiet=json_out) as bar:
                for name, build in tables.BUILDERS.items():
                    frames[name] = build(store) if name != "cross_analysis" else build(store, compare or ())
                    bar.advance()
            if fmt == ExportFormat.csv:
                tables.write_csv(frames, out)
            else:
                tables.write_xlsx(frames, out)
            summary = {"tables": {name: len(frame) for name, frame in frames.items()}}
    document = {"format": fmt.value, "out": str(out), **summary}
    if json_out:
        emit_json(document)
    else:
        err_console.print(f"[green]wrote[/] {out} ({fmt.value})")


def import_qdpx(
    file: Annotated[
        Path,
        typer.Argument(
            help="A REFI-QDA project (.qdpx) from transcode, QualCoder, qc, NVivo, ATLAS.ti, MAXQDA..."
        ),
    ],
    db: DbOption = DEFAULT_DB,
    names: NamesOption = None,
    interviewer: InterviewerOption = None,
    participant: ParticipantOption = None,
    json_out: JsonOption = False,
) -> None:
    """Load a .qdpx into a new store (one transaction: all of it or nothing).

    Text that did not come from transcode is de-identified first, as by `transcode import`.
    """
    from transcode.exchange import refi
    from transcode.ingest import SpeakerRoles
    from transcode.store.snapshot import write_snapshot

    roles = SpeakerRoles(interviewer, participant, other_speakers="keep")
    known = read_known_names(names)
    content = refi.load_qdpx(file, roles=roles)
    with progress_bar("de-identify", len(content.foreign_cases), quiet=json_out) as bar:
        refi.deidentify_content(content, known, on_progress=bar.advance)
    with new_store(db, content.snapshot.name) as store:
        summary = write_snapshot(store, content.snapshot)
    if json_out:
        emit_json({"db": masked(db), **summary, "warnings": content.warnings})
        return
    for warning in content.warnings:
        err_console.print(f"[yellow]warning:[/] {escape(warning)}")
    err_console.print(
        f"[green]imported[/] {summary['units']} units of {summary['cases']} cases, "
        f"{summary['codes']} codes, judges {escape(', '.join(summary['judges']) or 'none')} into {masked(db)}"
    )


@contextmanager
def new_store(db: str, project: str) -> Iterator[Store]:
    """The store at ``db``, created if need be; a SQLite file this call created is removed again if
    the block fails, so a failed import leaves no new empty store behind."""
    from transcode.store import db as database
    from transcode.store import open_store

    engine_url = database.make_engine(db).url
    target = database.sqlite_file(engine_url) if engine_url.get_backend_name() == "sqlite" else None
    existed = target is None or target.exists()
    try:
        with open_store(db, create=True, project=project) as store:
            yield store
    except BaseException:
        if not existed and target is not None:
            for leftover in (target, Path(f"{target}-wal"), Path(f"{target}-shm"), Path(f"{target}-journal")):
                leftover.unlink(missing_ok=True)
        raise


def masked(db: str) -> str:
    from sqlalchemy.engine import make_url

    try:
        return make_url(db).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - an unparsable URL is reported elsewhere; never echo a secret
        return "<store>"


def import_qdc(
    file: Annotated[Path, typer.Argument(help="A REFI-QDA codebook (.qdc).")],
    out: Annotated[Path, typer.Option("--out", help="Codebook YAML to write (docs/formats.md section 2).")],
    json_out: JsonOption = False,
) -> None:
    """Turn a .qdc codebook into a transcode codebook YAML (top-level codes become domains)."""
    import yaml

    from transcode.exchange import refi

    codebook = refi.read_qdc(file)
    write_atomic(out, yaml.safe_dump(codebook.to_dict(), sort_keys=False, allow_unicode=True))
    if json_out:
        emit_json({"out": str(out), "domains": codebook.domain_ids})
    else:
        err_console.print(f"[green]wrote[/] {out} ({len(codebook.domains)} domains)")


def register(app: typer.Typer) -> None:
    app.command("export")(export)
    app.command("import-qdpx")(import_qdpx)
    app.command("import-qdc")(import_qdc)
