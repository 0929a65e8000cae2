"""`transcode precode`: de-identify, split and propose domains (CONTRACT section 3)."""

from __future__ import annotations

import json
from collections import Counter
from contextlib import ExitStack
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

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
from transcode.files import atomic_writer, ensure_folder


def precode(
    files: Annotated[list[Path], typer.Argument(help="Transcripts (.txt .docx .vtt .srt .csv).")],
    codebook: Annotated[Path, typer.Option("--codebook", help="Codebook YAML (CONTRACT section 2).")],
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
    from transcode.pipeline import contract_record, load_classifier, prepare, propose, read_all

    if workers is not None and dask is not None:
        raise InputError("give either --workers or --dask, not both")
    if workers is not None and workers < 1:
        raise InputError(f"--workers must be at least 1, got {workers}")
    book = load_codebook(codebook)
    transcripts = read_all(files, ingest_options(interviewer, participant, other_speakers))
    known = read_known_names(names)
    target_store = None
    if store:
        from transcode.store import open_store

        target_store = open_store(db)
    with ExitStack() as stack:
        client = None
        if workers is not None or dask is not None:
            from transcode import distributed

            # Reach the cluster before loading any model: a wrong address fails at once.
            client = stack.enter_context(distributed.connect(address=dask, workers=workers))
            err_console.print(f"pre-coding on {dask or f'a local cluster of {workers} workers'}")
        encoder = None
        if fast or model_name is not None:
            from transcode.embed import make_encoder

            encoder = make_encoder(model_name, fast=fast)
        classifier = load_classifier(book, model, encoder=encoder)
        records, proposals = [], {}
        if client is not None:
            prepared = _precode_on_cluster(client, transcripts, classifier, known, records, proposals)
    if client is None:
        with progress_bar("de-identify + split", len(transcripts)) as bar:
            prepared = prepare(transcripts, known_names=known, on_progress=bar.advance)
        total = sum(len(c.units) for c in prepared)
        with progress_bar("propose domains", total) as bar:
            for unit, proposal in propose(prepared, classifier, on_progress=bar.advance):
                records.append(contract_record(unit, proposal))
                proposals[unit.unit_id] = proposal
    ensure_folder(out.parent)
    with atomic_writer(out) as stream:
        stream.writelines(json.dumps(record, ensure_ascii=False) + "\n" for record in records)
    if target_store is not None:
        target_store.save_codebook(book)
        for case in prepared:
            target_store.import_transcript(case.transcript, case.units)
        target_store.save_proposals(proposals)
    summary = _summary(prepared, records, book.domain_ids)
    if json_out:
        emit_json({"out": str(out), "units": len(records), "cases": summary})
    else:
        _print_summary(summary, book.domain_ids, out)


def _precode_on_cluster(client, transcripts, classifier, known, records, proposals):
    """Workers prepare and embed each case; here each case is classified, in input order."""
    from transcode import distributed
    from transcode.pipeline import classify_case, contract_record, reuse_earlier_vectors, save_fresh

    spec = distributed.encoder_spec(classifier.encoder)
    prepared, fresh = [], {}
    with progress_bar("de-identify + split + embed", len(transcripts)) as bar:
        for result in distributed.prepare_and_embed_on_cluster(
            client, transcripts, known_names=known, spec=spec, on_case=bar.advance
        ):
            case = result.case
            vectors = reuse_earlier_vectors(case, result.vectors, fresh)
            case_proposals = classify_case(classifier, case, vectors)
            for unit, proposal in zip(case.units, case_proposals, strict=True):
                records.append(contract_record(unit, proposal))
                proposals[unit.unit_id] = proposal
            prepared.append(case)
    save_fresh(classifier.encoder, fresh)
    return prepared


def _summary(prepared, records, domain_ids):
    by_case: dict[str, Counter] = {}
    for record in records:
        counts = by_case.setdefault(record["case"], Counter())
        for domain in record["suggested"] or ["other"]:
            counts[domain] += 1
    return [
        {
            "case": c.transcript.case,
            "units": len(c.units),
            "replacements": c.replacements,
            "suggested": dict(by_case.get(c.transcript.case, Counter())),
        }
        for c in prepared
    ]


def _print_summary(summary, domain_ids, out):
    columns = [*domain_ids, "other"]
    # Domain names fit as headers on a wide terminal; on a narrow one, numbers and a legend.
    numbered = err_console.width < 26 + 12 * len(columns)
    legend = " · ".join(f"{n} {d.replace('_', ' ')}" for n, d in enumerate(columns, start=1))
    table = Table(
        title=f"pre-coded thought units -> {out}",
        caption=f"units suggested per domain: {legend}" if numbered else None,
    )
    table.add_column("case")
    table.add_column("units", justify="right")
    table.add_column("ids removed", justify="right")
    for n, domain in enumerate(columns, start=1):
        table.add_column(str(n) if numbered else domain.replace("_", " "), justify="right")
    for row in summary:
        table.add_row(
            row["case"],
            str(row["units"]),
            str(row["replacements"]),
            *(str(row["suggested"].get(d, 0)) for d in columns),
        )
    err_console.print(table)


def register(app: typer.Typer) -> None:
    app.command("precode")(precode)
