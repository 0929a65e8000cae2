"""`transcode evaluate`: cross-validated accuracy of domain proposals on gold-coded transcripts."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from transcode.cli.common import JsonOption, emit_json, err_console, progress_bar
from transcode.files import check_output_folder, ensure_folder, write_atomic

DEMO_CURVE_SIZES = (10, 25, 50, 100, 200, 400, 100000)
ANNOMI_CURVE_SIZES = (25, 50, 100, 200, 400, 800, 1600, 3200, 100000)
SHOWN = ("micro_f1", "macro_f1", "precision", "recall", "top1_accuracy")


def evaluate(
    codebook: Annotated[Path, typer.Option("--codebook", help="Codebook YAML of the gold corpus.")],
    gold: Annotated[
        Path, typer.Option("--gold", help="Gold units (JSONL: case, unit, turn, text, domains).")
    ],
    transcripts: Annotated[
        Path | None,
        typer.Option(
            "--transcripts", help="Folder of the gold cases' transcripts (default: the gold folder's parent)."
        ),
    ] = None,
    annomi: Annotated[
        Path | None,
        typer.Option(
            "--annomi", help="AnnoMI folder (AnnoMI-full.csv): also evaluate on its two label sets."
        ),
    ] = None,
    annomi_folds: Annotated[int, typer.Option("--annomi-folds", help="Case folds for AnnoMI.")] = 5,
    out: Annotated[
        Path, typer.Option("--out", help="Folder for evaluation.json and learning-curve PNGs.")
    ] = Path("out/evaluate"),
    curves: Annotated[bool, typer.Option("--curves/--no-curves", help="Compute learning curves.")] = True,
    fast: Annotated[
        bool, typer.Option("--fast/--no-fast", help="Also evaluate the static fast tier.")
    ] = True,
    model_name: Annotated[
        Path | None,
        typer.Option("--model-name", help="Another local sentence-transformers folder instead of MiniLM."),
    ] = None,
    setfit_shots: Annotated[
        int | None,
        typer.Option("--setfit-shots", help="Also run SetFit few-shot (N units per domain), if installed."),
    ] = None,
    json_out: JsonOption = False,
) -> None:
    """Leave-one-case-out F1 and top-1 accuracy: zero-shot, trained, TF-IDF baseline, fast tier; curves."""
    from transcode.classify.evaluate import Corpus, case_folds, evaluate_corpus, plot_learning_curves
    from transcode.classify.examples import load_annomi, load_gold_units
    from transcode.codebook import load_codebook
    from transcode.embed import StaticEncoder, make_encoder

    check_output_folder(out)
    book = load_codebook(codebook)
    units = load_gold_units(gold, transcripts)
    unknown = sorted({d for u in units for d in u.domains} - set(book.domain_ids))
    if unknown:
        from transcode.errors import InputError

        raise InputError(f"gold domains not in the codebook: {unknown}", str(gold))
    encoders: dict[str, object] = {"": make_encoder(model_name)}
    if fast:
        encoders["_fast"] = StaticEncoder()
    jobs: list[tuple[Corpus, int | None, tuple[int, ...]]] = [
        (
            Corpus(gold.parent.parent.name if gold.parent.name == "gold" else gold.stem, book, units),
            None,
            DEMO_CURVE_SIZES,
        )
    ]
    if annomi is not None:
        for name, (annomi_book, annomi_units) in load_annomi(annomi).items():
            jobs.append(
                (Corpus(f"annomi-{name}", annomi_book, annomi_units), annomi_folds, ANNOMI_CURVE_SIZES)
            )
    reports = []
    for corpus, n_folds, sizes in jobs:
        steps = len(case_folds(corpus.units, n_folds)) * (2 if curves else 1)
        with progress_bar(f"evaluate {corpus.name}", steps) as bar:
            report = evaluate_corpus(
                corpus,
                encoders,
                n_folds=n_folds,
                curve_sizes=sizes if curves else (),
                setfit_shots=setfit_shots,
                on_progress=bar.advance,
            )
        if curves:
            ensure_folder(out)
            slug = corpus.name.split(" ")[0]
            report["learning_curve_png"] = str(
                plot_learning_curves(report, out / f"learning-curve-{slug}.png")
            )
        reports.append(report)
    ensure_folder(out)
    document = {"reports": reports}
    write_atomic(out / "evaluation.json", json.dumps(document, indent=2) + "\n")
    if json_out:
        emit_json(document)
    else:
        for report in reports:
            _print_report(report)
        err_console.print(f"written: {out / 'evaluation.json'}", markup=False)


def _print_report(report: dict) -> None:
    table = Table(
        title=f"{report['corpus']}: {report['n_units']} units, {report['n_cases']} cases, {report['folds']}"
    )
    table.add_column("method")
    for name in SHOWN:
        table.add_column(name.replace("_", " "), justify="right")
    for method, m in report["methods"].items():
        table.add_row(method, *(f"{m[name]:.3f}" for name in SHOWN))
    err_console.print(table)
    per_domain = Table(title="per-domain F1 (support)")
    per_domain.add_column("domain")
    methods = list(report["methods"])
    for method in methods:
        per_domain.add_column(method, justify="right")
    per_domain.add_column("support", justify="right")
    for domain in report["domains"]:
        cells = [f"{report['methods'][m]['per_domain'][domain]['f1']:.3f}" for m in methods]
        support = report["methods"][methods[0]]["per_domain"][domain]["support"]
        per_domain.add_row(domain, *cells, str(support))
    err_console.print(per_domain)
    if "learning_curves" in report:
        curve = Table(title="learning curves: micro-F1 vs confirmed training units")
        curve.add_column("method")
        sizes = report["learning_curves"]["sizes"]
        for n in sizes:
            curve.add_column(str(n), justify="right")
        for method, points in report["learning_curves"]["curves"].items():
            curve.add_row(method, *(f"{p['micro_f1']:.3f}" for p in points))
        err_console.print(curve)
        err_console.print(f"plot: {report['learning_curve_png']}", markup=False)


def register(app: typer.Typer) -> None:
    app.command("evaluate")(evaluate)
