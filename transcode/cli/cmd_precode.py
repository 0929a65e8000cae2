"""`transcode precode`: de-identify, split and propose domains (docs/formats.md section 3)."""

from __future__ import annotations

from contextlib import ExitStack
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
    progress_bar,
    read_known_names,
)
from transcode.errors import InputError
from transcode.files import check_output_file


def precode(
    files: Annotated[list[Path], typer.Argument(help="Transcripts (.txt .docx .vtt .srt .csv).")],
    codebook: Annotated[Path, typer.Option("--codebook", help="Codebook YAML (docs/formats.md section 2).")],
    out: Annotated[Path, typer.Option("--out", help="Where to write PROPOSALS.jsonl.")],
    model: Annotated[
        Path | None, typer.Option("--model", help="A classifier saved by `transcode train`.")
    ] = None,
    fast: Annotated[
        bool,
        typer.Option("--fast", help="Static model2vec encoder (fast tier, less accurate; see evaluate)."),
    ] = False,
    model_name: Annotated[
        Path | None,
        typer.Option("--model-name", help="Another local sentence-transformers folder instead of MiniLM."),
    ] = None,
    store: Annotated[
        bool, typer.Option("--store", help="Also load units and proposals into the store.")
    ] = False,
    sequence: Annotated[
        bool,
        typer.Option(
            "--sequence/--no-sequence",
            help="Read each case's turns in order (a probe carries the domain); --no-sequence to compare.",
        ),
    ] = True,
    workers: Annotated[
        int | None,
        typer.Option(
            "--workers", help="De-identify, split and embed on a local Dask cluster of N processes."
        ),
    ] = None,
    dask: Annotated[
        str | None,
        typer.Option(
            "--dask", help="Address of a running Dask scheduler (e.g. tcp://host:8786) to do that on."
        ),
    ] = None,
    db: DbOption = DEFAULT_DB,
    names: NamesOption = None,
    interviewer: InterviewerOption = None,
    participant: ParticipantOption = None,
    other_speakers: OtherSpeakersOption = "error",
    json_out: JsonOption = False,
) -> None:
    """Propose domains for every participant thought unit; writes one JSON line per unit."""
    from transcode.codebook import load_codebook
    from transcode.pipeline import load_classifier, precode, read_all, save_run, write_proposals

    if workers is not None and dask is not None:
        raise InputError("give either --workers or --dask, not both")
    if workers is not None and workers < 1:
        raise InputError(f"--workers must be at least 1, got {workers}")
    check_output_file(out, make_folder=True)
    book = load_codebook(codebook)
    transcripts = read_all(files, ingest_options(interviewer, participant, other_speakers))
    known = read_known_names(names)
    with ExitStack() as stack:
        if store:
            from transcode.store import open_store

            target_store = stack.enter_context(open_store(db))
        else:
            target_store = None
        client = None
        if workers is not None or dask is not None:
            from transcode.pipeline import cluster

            # Reach the cluster before loading any model: a wrong address fails at once.
            client = stack.enter_context(cluster.connect(address=dask, workers=workers))
            err_console.print(
                f"pre-coding on {dask or f'a local cluster of {workers} workers'}", markup=False
            )
        encoder = None
        if fast or model_name is not None:
            from transcode.embed import make_encoder

            encoder = make_encoder(model_name, fast=fast)
        classifier = load_classifier(book, model, encoder=encoder)
        with progress_bar("de-identify + split + embed + propose", len(transcripts)) as bar:
            run = precode(
                transcripts,
                classifier,
                known_names=known,
                client=client,
                sequence=sequence,
                on_case=bar.advance,
            )
        # The store's one transaction runs once the file is complete: both appear, or neither.
        loaded = target_store
        write_proposals(out, run.records, also=(lambda: save_run(loaded, book, run)) if loaded else None)
    summary = run.summary()
    if json_out:
        emit_json({"out": str(out), "units": len(run.records), "cases": summary})
    else:
        _print_summary(summary, book.domain_ids, out)


def _print_summary(summary, domain_ids, out):
    columns = [*domain_ids, "other"]
    # Domain names fit as headers on a wide terminal; on a narrow one, numbers and a legend.
    numbered = err_console.width < 26 + 12 * len(columns)
    legend = " · ".join(f"{n} {d.replace('_', ' ')}" for n, d in enumerate(columns, start=1))
    table = Table(
        title=Text(f"pre-coded thought units -> {out}"),
        caption=f"units suggested per domain: {legend}" if numbered else None,
    )
    table.add_column("case")
    table.add_column("units", justify="right")
    table.add_column("ids removed", justify="right")
    for n, domain in enumerate(columns, start=1):
        table.add_column(str(n) if numbered else domain.replace("_", " "), justify="right")
    for row in summary:
        table.add_row(
            Text(row["case"]),
            str(row["units"]),
            str(row["replacements"]),
            *(str(row["suggested"].get(d, 0)) for d in columns),
        )
    err_console.print(table)


def register(app: typer.Typer) -> None:
    app.command("precode")(precode)
