"""`transcode train`: learn domain proposals from confirmed codes and save the model folder."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from transcode.cli.common import DEFAULT_DB, DbOption, JsonOption, emit_json, err_console


def train(
    out: Annotated[Path, typer.Option("--out", help="Model folder to write (e.g. models/NAME).")],
    codebook: Annotated[
        Path | None,
        typer.Option("--codebook", help="Codebook YAML (default with --db: the store's latest codebook)."),
    ] = None,
    gold: Annotated[
        Path | None,
        typer.Option("--gold", help="Train on gold units (JSONL) instead of the store's consensus codes."),
    ] = None,
    transcripts: Annotated[
        Path | None,
        typer.Option(
            "--transcripts", help="Folder of the gold cases' transcripts (default: the gold folder's parent)."
        ),
    ] = None,
    fast: Annotated[
        bool, typer.Option("--fast", help="Use the static model2vec encoder (fast tier).")
    ] = False,
    model_name: Annotated[
        Path | None,
        typer.Option(
            "--model-name",
            help="Another local sentence-transformers folder (or model2vec folder with --fast).",
        ),
    ] = None,
    evaluate: Annotated[
        bool,
        typer.Option("--evaluate/--no-evaluate", help="Record leave-one-case-out metrics in the model card."),
    ] = True,
    db: DbOption = DEFAULT_DB,
    json_out: JsonOption = False,
) -> None:
    """Train on consensus codes (--db, never one judge's codes) or on gold units (--gold)."""
    from transcode.classify.examples import consensus_examples, load_gold_units
    from transcode.classify.persist import check_model_folder, save_model
    from transcode.classify.trained import train as fit
    from transcode.codebook import load_codebook
    from transcode.embed import make_encoder
    from transcode.errors import InputError

    check_model_folder(out)
    if gold is not None:
        if codebook is None:
            raise InputError("--gold needs --codebook")
        book = load_codebook(codebook)
        examples = load_gold_units(gold, transcripts)
        source = f"gold units {gold}"
    else:
        from transcode.store import open_store

        given = load_codebook(codebook) if codebook else None
        with open_store(db) as store:
            stored = given or store.codebook()
            if stored is None:
                raise InputError("the store holds no codebook; pass --codebook")
            book = stored
            examples = consensus_examples(store)
            if not examples:
                raise InputError(f"no consensus codes in {store.label} yet: nothing to train on")
            source = f"consensus codes in {store.label}"
    unknown = sorted({d for e in examples for d in e.domains} - set(book.domain_ids))
    if unknown:
        raise InputError(f"confirmed codes use domains not in the codebook: {unknown}")
    encoder = make_encoder(model_name, fast=fast)
    err_console.print(f"training on {len(examples)} units from {source}", markup=False, highlight=False)
    model = fit(examples, book, encoder, trained_on=source)
    if evaluate and len({e.case for e in examples}) >= 2:
        model.metrics = _cross_validated(examples, book, encoder)
    path = save_model(model, out)
    assert model.learned is not None
    summary = {
        "out": str(path),
        "version": model.version,
        "n_train": model.n_train,
        "fit_seconds": round(model.fit_seconds, 3),
        "metrics": model.metrics,
        "positives": dict(zip([*book.domain_ids, "other"], model.learned.positives.tolist(), strict=True)),
    }
    if json_out:
        emit_json(summary)
    else:
        err_console.print(
            f"model {model.version} written to {path} (fit {model.fit_seconds:.2f} s)", markup=False
        )
        for name, value in model.metrics.items():
            err_console.print(f"  {name}: {value}", markup=False)


def _cross_validated(examples, book, encoder) -> dict:
    """Leave-one-case-out metrics of this training recipe, for the model card."""
    from transcode.classify.evaluate import Corpus, evaluate_corpus

    report = evaluate_corpus(Corpus("training data", book, list(examples)), {"": encoder})
    methods = report["methods"]
    out: dict = {"evaluation": report["folds"]}
    for method in ("trained_sequence", "trained", "zeroshot_sequence", "tfidf_lr"):
        for measure in ("top1_accuracy", "one_key_rate", "micro_f1"):
            out[f"{method}_{measure}"] = round(methods[method][measure], 4)
    return out


def register(app: typer.Typer) -> None:
    app.command("train")(train)
