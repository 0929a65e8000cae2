"""`transcode export`, `transcode import-qdpx`, `transcode import-qdc`: data to and from other tools.

REFI-QDA (.qdpx project, .qdc codebook) for NVivo, ATLAS.ti, MAXQDA and QualCoder; CSV files
and an Excel workbook for R, SPSS and spreadsheets.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from transcode.cli.common import (
    DEFAULT_DB,
    ByOption,
    DbOption,
    InterviewerOption,
    JsonOption,
    NamesOption,
    ParticipantOption,
    UnlockOption,
    emit_json,
    err_console,
    progress_bar,
    read_known_names,
    unlock_by,
)
from transcode.files import check_output_file, check_output_folder, write_atomic


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
    unlock: UnlockOption = False,
    by: ByOption = None,
    json_out: JsonOption = False,
) -> None:
    """Export the project: REFI-QDA project/codebook, or the tables as CSV / Excel.

    A project export (qdpx, csv, xlsx) holds every judge's codes, so it is refused while a case
    holding judges' codes is still in independent coding (a lead may --unlock --by LEAD: logged).
    """
    from transcode.coding import phases
    from transcode.cross.io import parse_compare
    from transcode.exchange import refi, tables
    from transcode.store import open_store

    for spec in compare or ():
        parse_compare(spec)  # a malformed spec stops before any work
    if fmt == ExportFormat.csv:
        check_output_folder(out)
    else:
        check_output_file(out)
    lead = unlock_by(unlock, by)

    with open_store(db) as store:
        if fmt != ExportFormat.qdc:
            phases.require_whole_study_open(store, f"export --format {fmt.value}", unlock_by=lead)
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
        err_console.print(f"wrote {out} ({fmt.value})", markup=False, highlight=False)


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
    from transcode.coding import phases
    from transcode.exchange import refi
    from transcode.ingest import SpeakerRoles
    from transcode.store.snapshot import write_new_store

    roles = SpeakerRoles(interviewer, participant, other_speakers="keep")
    known = read_known_names(names)
    content = refi.load_qdpx(file, roles=roles)
    with progress_bar("de-identify", len(content.foreign_cases), quiet=json_out) as bar:
        refi.deidentify_content(content, known, on_progress=bar.advance)
    summary, shown = write_new_store(
        db,
        content.snapshot,
        then=lambda store: phases.enter_phases(
            store, f"imported from {file.name}: cases with consensus codes"
        ),
    )
    if json_out:
        emit_json({"db": shown, **summary, "warnings": content.warnings})
        return
    for warning in content.warnings:
        err_console.print(f"[yellow]warning:[/] {escape(warning)}")
    err_console.print(
        f"[green]imported[/] {summary['units']} units of {summary['cases']} cases, "
        f"{summary['codes']} codes, judges {escape(', '.join(summary['judges']) or 'none')} "
        f"into {escape(shown)}"
    )


def import_qdc(
    file: Annotated[Path, typer.Argument(help="A REFI-QDA codebook (.qdc).")],
    out: Annotated[Path, typer.Option("--out", help="Codebook YAML to write (docs/formats.md section 2).")],
    json_out: JsonOption = False,
) -> None:
    """Turn a .qdc codebook into a transcode codebook YAML (top-level codes become domains)."""
    import yaml

    from transcode.exchange import refi

    check_output_file(out)
    codebook = refi.read_qdc(file)
    write_atomic(out, yaml.safe_dump(codebook.to_dict(), sort_keys=False, allow_unicode=True))
    if json_out:
        emit_json({"out": str(out), "domains": codebook.domain_ids})
    else:
        err_console.print(f"wrote {out} ({len(codebook.domains)} domains)", markup=False, highlight=False)


def register(app: typer.Typer) -> None:
    app.command("export")(export)
    app.command("import-qdpx")(import_qdpx)
    app.command("import-qdc")(import_qdc)
