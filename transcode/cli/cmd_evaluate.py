"""`transcode evaluate`: cross-validated accuracy of domain proposals on gold-coded transcripts."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from transcode.cli.common import JsonOption, emit_json, err_console, progress_bar
from transcode.files import check_output_folder, ensure_folder, write_atomic

#: Confirmed units at which the learning curves are drawn (the largest stands for "all").
CURVE_SIZES = (25, 50, 100, 200, 400, 100000)
SHOWN = ("top1_accuracy", "micro_f1", "macro_f1", "one_key_rate", "recall", "ece")
HEADERS = ("top-1", "micro-F1", "macro-F1", "one-key", "recall", "ECE")


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
    tuning_cases: Annotated[
        str,
        typer.Option(
            "--tuning-cases",
            help="Comma-separated gold cases the defaults were tuned on: the others are also reported alone.",
        ),
    ] = "01,05,06",
    protocol_proxy: Annotated[
        Path | None,
        typer.Option(
            "--protocol-proxy",
            help="Paraphrases and probes (YAML) to build a quoted-units proxy from the gold units.",
        ),
    ] = None,
    annomi: Annotated[
        Path | None,
        typer.Option(
            "--annomi", help="AnnoMI folder (AnnoMI-full.csv): also evaluate on its two label sets."
        ),
    ] = None,
    annomi_folds: Annotated[int, typer.Option("--annomi-folds", help="Case folds for AnnoMI.")] = 5,
    mts_dialog: Annotated[
        Path | None,
        typer.Option("--mts-dialog", help="MTS-Dialog folder (labels.json + CSVs): its note section labels."),
    ] = None,
    mts_folds: Annotated[int, typer.Option("--mts-folds", help="Case folds for MTS-Dialog.")] = 5,
    out: Annotated[
        Path, typer.Option("--out", help="Folder for evaluation.json and learning-curve PNGs.")
    ] = Path("out/evaluate"),
    curves: Annotated[bool, typer.Option("--curves/--no-curves", help="Compute learning curves.")] = True,
    fast: Annotated[
        bool, typer.Option("--fast/--no-fast", help="Also evaluate the static fast tier.")
    ] = False,
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
    """Top-1, F1, one-key rate, recall and calibration on held-out cases, against baselines; curves."""
    from transcode.classify.evaluate import Corpus, case_folds, evaluate_corpus, plot_learning_curves
    from transcode.classify.examples import load_annomi, load_gold_units, load_mts_dialog
    from transcode.codebook import load_codebook
    from transcode.embed import StaticEncoder, make_encoder
    from transcode.errors import InputError

    check_output_folder(out)
    book = load_codebook(codebook)
    units = load_gold_units(gold, transcripts)
    unknown = sorted({d for u in units for d in u.domains} - set(book.domain_ids))
    if unknown:
        raise InputError(f"gold domains not in the codebook: {unknown}", str(gold))
    encoders: dict[str, object] = {"": make_encoder(model_name)}
    if fast:
        encoders["_fast"] = StaticEncoder()
    name = gold.parent.parent.name if gold.parent.name == "gold" else gold.stem
    tuned = tuple(c.strip() for c in tuning_cases.split(",") if c.strip())
    untuned = tuple(c for c in sorted({u.case for u in units}) if c not in tuned)
    subsets = {f"{len(untuned)} cases not used for tuning ({', '.join(untuned)})": untuned} if tuned else {}
    gold_corpus = Corpus(name, book, units, subsets)
    jobs: list[tuple[Corpus, int | None, Corpus | None]] = [(gold_corpus, None, None)]
    if protocol_proxy is not None:
        from transcode.classify.protocol_proxy import build_proxy, load_proxy_spec

        proxy = build_proxy(units, book, load_proxy_spec(protocol_proxy, book))
        jobs.append((Corpus(f"{name}-protocol-proxy", book, proxy, subsets), None, gold_corpus))
    if annomi is not None:
        for label, (annomi_book, annomi_units) in load_annomi(annomi).items():
            jobs.append((Corpus(f"annomi-{label}", annomi_book, annomi_units), annomi_folds, None))
    if mts_dialog is not None:
        mts_book, mts_units = load_mts_dialog(mts_dialog)
        jobs.append((Corpus("mts-dialog", mts_book, mts_units), mts_folds, None))
    reports = []
    for corpus, n_folds, train_corpus in jobs:
        folds = len(case_folds(corpus.units, n_folds, (train_corpus or corpus).units))
        with progress_bar(f"evaluate {corpus.name}", folds * (2 if curves else 1)) as bar:
            report = evaluate_corpus(
                corpus,
                encoders,
                n_folds=n_folds,
                train_corpus=train_corpus,
                curve_sizes=CURVE_SIZES if curves else (),
                setfit_shots=setfit_shots,
                on_progress=bar.advance,
            )
        if curves:
            ensure_folder(out)
            report["learning_curve_png"] = str(
                plot_learning_curves(report, out / f"learning-curve-{corpus.name}.png")
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


def _method_table(title: str, methods: dict) -> Table:
    table = Table(title=title)
    table.add_column("method")
    for header in HEADERS:
        table.add_column(header, justify="right")
    for method, m in methods.items():
        table.add_row(method, *(f"{m[name]:.3f}" for name in SHOWN))
    return table


def _print_report(report: dict) -> None:
    title = f"{report['corpus']}: {report['n_units']} units, {report['n_cases']} cases, {report['folds']}"
    err_console.print(_method_table(title, report["methods"]))
    for label, methods in report.get("subsets", {}).items():
        err_console.print(_method_table(f"{report['corpus']}, {label}", methods))
    if "learning_curves" in report:
        for measure, header in (("top1_accuracy", "top-1"), ("one_key_rate", "one-key rate")):
            curve = Table(title=f"learning curves: {header} vs confirmed training units")
            curve.add_column("method")
            for n in report["learning_curves"]["sizes"]:
                curve.add_column(str(n), justify="right")
            for method, points in report["learning_curves"]["curves"].items():
                cells = {p["n"]: f"{p[measure]:.3f}" for p in points}
                curve.add_row(method, *(cells.get(n, "") for n in report["learning_curves"]["sizes"]))
            err_console.print(curve)
        err_console.print(f"plot: {report['learning_curve_png']}", markup=False)


def register(app: typer.Typer) -> None:
    app.command("evaluate")(evaluate)
