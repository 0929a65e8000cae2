"""``transcode agree``: inter-judge agreement from RATINGS.csv or VALUES.csv (docs/formats.md section 5)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from transcode.cli.common import (
    DEFAULT_DB,
    ByOption,
    DbOption,
    JsonOption,
    UnlockOption,
    emit_json,
    err_console,
    out_console,
    unlock_by,
)
from transcode.errors import InputError, PhaseError
from transcode.files import check_output_file

REPORT_SUFFIXES = (".html", ".htm", ".md")
#: Past this the intervals no longer change in the third decimal; it bounds time and memory.
MAX_RESAMPLES = 100_000


def agree(
    file: Annotated[
        Path | None,
        typer.Argument(
            help="RATINGS.csv (unit,judge,code) or, with --coefficient, VALUES.csv (unit,judge,value). "
            "Without a file: the judges' codes in the project store (--db)."
        ),
    ] = None,
    coefficient: Annotated[
        str | None,
        typer.Option(
            "--coefficient",
            help="With VALUES.csv: percent_agreement, cohen_kappa, fleiss_kappa, "
            "krippendorff_alpha, scott_pi or gwet_ac1.",
        ),
    ] = None,
    level: Annotated[
        str | None,
        typer.Option(
            "--level", help="Level of measurement for krippendorff_alpha: nominal, ordinal, interval, ratio."
        ),
    ] = None,
    csv_out: Annotated[
        Path | None, typer.Option("--csv", help="Also write the coefficients as CSV here.")
    ] = None,
    report_out: Annotated[
        Path | None,
        typer.Option("--report", help="Also write a report with plots (.html self-contained, or .md)."),
    ] = None,
    resamples: Annotated[
        int,
        typer.Option(
            "--resamples",
            min=0,
            max=MAX_RESAMPLES,
            help="Bootstrap resamples (0: no intervals; at most 100,000).",
        ),
    ] = 1000,
    seed: Annotated[int, typer.Option("--seed", help="Bootstrap seed.")] = 0,
    window: Annotated[
        int | None, typer.Option("--window", min=1, help="Units per rolling window in the over-time view.")
    ] = None,
    db: DbOption = DEFAULT_DB,
    case: Annotated[
        list[str] | None,
        typer.Option(
            "--case", help="From the store: only this case (repeatable); it must be past independent."
        ),
    ] = None,
    unlock: UnlockOption = False,
    by: ByOption = None,
    json_output: JsonOption = False,
) -> None:
    """Agreement between judges: overall, per code, per judge pair, with bootstrap intervals.

    From the store (no file) it reads the cases past independent coding, with each case's
    calibration and what the model's suggestions did (per judge; with and without them shown;
    the model against the consensus).
    """
    from transcode.agreement import coefficients

    for target in (csv_out, report_out):
        if target is not None:
            check_output_file(target)
    if file is None:
        if coefficient is not None or level is not None:
            raise InputError("--coefficient and --level go with a VALUES.csv file")
        _check_report_suffix(report_out)
        ratings, extra = _store_ratings(db, case, unlock_by(unlock, by))
        _ratings_report(ratings, json_output, csv_out, report_out, resamples, seed, window, extra)
        return
    if case or unlock or by:
        raise InputError("--case, --unlock and --by read the store: give no file", str(file))
    if coefficient is not None:
        if coefficient not in coefficients.COEFFICIENT_NAMES:
            raise InputError(
                f"unknown --coefficient {coefficient!r}; use one of "
                f"{', '.join(coefficients.COEFFICIENT_NAMES)}",
                str(file),
            )
        if csv_out or report_out:
            raise InputError("--csv and --report go with a RATINGS.csv, not with --coefficient", str(file))
        _single_coefficient(file, coefficient, level or "nominal", json_output)
        return
    if level is not None:
        raise InputError("--level goes with --coefficient (a VALUES.csv)", str(file))
    _check_report_suffix(report_out)
    from transcode.agreement.ratings import read_ratings_csv

    _ratings_report(read_ratings_csv(file), json_output, csv_out, report_out, resamples, seed, window)


def _single_coefficient(file: Path, name: str, level: str, json_output: bool) -> None:
    from transcode.agreement import coefficients
    from transcode.agreement.ratings import read_values_csv

    if level not in coefficients.LEVELS:
        raise InputError(f"unknown --level {level!r}; use one of {', '.join(coefficients.LEVELS)}", str(file))
    values = read_values_csv(file, level)
    try:
        estimate = coefficients.coefficient(name, values.matrix, level)
    except ValueError as err:
        raise InputError(str(err), str(file)) from None
    document = {
        "coefficient": name,
        "level": level,
        "value": estimate.value,
        "n_units": values.n_units,
        "n_judges": values.n_judges,
    }
    if estimate.reason:
        document["reason"] = estimate.reason
    if json_output:
        emit_json(document)
        return
    shown = "undefined" if estimate.value is None else f"{estimate.value:.4f}"
    out_console.print(f"{name} ({level}) = {shown} over {values.n_units} units, {values.n_judges} judges")
    if estimate.reason:
        err_console.print(f"undefined: {estimate.reason}", markup=False)


def _check_report_suffix(report_out: Path | None) -> None:
    if report_out is not None and report_out.suffix.lower() not in REPORT_SUFFIXES:
        raise InputError("the report must end in .html or .md", str(report_out))


def _store_ratings(db: str, cases: list[str] | None, lead: str | None):
    """The judges' current codes in the cases the phase rules open, and the report's store sections."""
    from transcode.agreement.ratings import ratings_from_records
    from transcode.coding import calibration, phases
    from transcode.coding.consensus import ratings_records
    from transcode.store import open_store

    with open_store(db) as store:
        scope = phases.reading_scope(store, cases, unlock_by=lead, command="agree --db")
        records = ratings_records(store, cases=scope.cases)
        if not records:
            if phases.blind_cases(store):
                raise PhaseError(
                    f"no case has reached consensus yet in {store.label}: judges' codes are reported "
                    "once a lead opens consensus for a case (`transcode phase CASE consensus --by LEAD`)"
                )
            raise InputError(f"no judge has coded a unit yet in the store {store.label}")
        ratings = ratings_from_records(records, source=store.label)
        extra = {
            "cases": list(scope.cases),
            "withheld_cases": list(scope.withheld),
            "unlocked_cases": list(scope.unlocked),
            "calibration": calibration.calibration(store, scope.cases),
            "suggestions": calibration.suggestion_report(store, scope.cases),
        }
    if scope.note():
        err_console.print(scope.note(), highlight=False, markup=False)
    return ratings, extra


def _ratings_report(
    ratings,
    json_output: bool,
    csv_out: Path | None,
    report_out: Path | None,
    resamples: int,
    seed: int,
    window: int | None,
    extra: dict | None = None,
) -> None:
    from transcode.agreement import render
    from transcode.agreement.report import full_report

    with err_console.status(
        f"Computing agreement for {len(ratings.units)} units, {len(ratings.judges)} judges"
    ):
        report = full_report(ratings, resamples=resamples, seed=seed, window=window)
    report.update(extra or {})
    try:
        if csv_out is not None:
            render.write_csv(report, csv_out)
        if report_out is not None:
            render.write_document(report, report_out)
    except OSError as err:
        raise InputError(f"cannot write: {err.strerror or err}", err.filename) from None
    if json_output:
        emit_json(report)
    else:
        render.print_report(report, out_console)
    for target in (csv_out, report_out):
        if target is not None:
            err_console.print(f"wrote {target}", markup=False)


def register(app: typer.Typer) -> None:
    app.command("agree")(agree)
