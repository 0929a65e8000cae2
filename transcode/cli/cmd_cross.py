"""``transcode cross``: CQR frequencies, subgroup comparisons and the results table.

Formats: docs/formats.md section 6.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, TextIO, cast

import typer

from transcode.cli.common import DEFAULT_DB, DbOption, JsonOption, emit_json, err_console, out_console
from transcode.cross import render
from transcode.cross.analysis import CrossOptions, cross_analysis
from transcode.cross.consistency import check_report, check_table
from transcode.cross.io import (
    parse_compare,
    read_cases,
    read_memberships,
    read_user_table,
)
from transcode.cross.labels import PROFILES, Profile, custom_profile, parse_fraction
from transcode.errors import InputError
from transcode.files import check_output_file, read_yaml, write_atomic

FORMATS = ("table", "csv", "markdown", "docx")
_SUFFIX_FORMATS = {".csv": "csv", ".md": "markdown", ".markdown": "markdown", ".docx": "docx"}


def cross(
    memberships: Annotated[
        Path | None,
        typer.Argument(
            help="MEMBERSHIPS.csv: case,domain,subdomain,category[,subcategory] (omit: project store).",
            show_default=False,
        ),
    ] = None,
    cases: Annotated[
        Path | None,
        typer.Option(
            "--cases", help="CASES.csv: case,ATTR... (every case; without MEMBERSHIPS: the store's)."
        ),
    ] = None,
    compare: Annotated[
        list[str] | None,
        typer.Option("--compare", help="Compare ATTR=high with ATTR=low, or ATTR=A:B. Repeatable."),
    ] = None,
    meaningful: Annotated[
        str,
        typer.Option(
            "--meaningful", help="Smallest meaningful difference between subgroup shares (0.30, 30% or 3/10)."
        ),
    ] = "0.30",
    difference_rule: Annotated[
        str,
        typer.Option(
            "--difference-rule", help="pct30 (shares, default) or two_categories (labels two apart)."
        ),
    ] = "pct30",
    profile: Annotated[
        str, typer.Option("--profile", help="hill2005 (default), hill1997 or custom.")
    ] = "hill2005",
    bands: Annotated[
        Path | None,
        typer.Option(
            "--bands", help="With --profile custom: YAML/JSON {general: '>= N-1', typical: '> 1/2', ...}."
        ),
    ] = None,
    rare: Annotated[str, typer.Option("--rare", help="auto (when N > 15), on or off.")] = "auto",
    output_format: Annotated[
        str | None,
        typer.Option("--format", help="table, csv, markdown or docx (default: from --out, else table)."),
    ] = None,
    out: Annotated[Path | None, typer.Option("--out", help="Write the table to this file.")] = None,
    chart: Annotated[Path | None, typer.Option("--chart", help="Also write a bar chart PNG here.")] = None,
    check: Annotated[
        Path | None,
        typer.Option(
            "--check",
            help="Check your own table (CSV) against the rules and the data; exit 1 if they disagree.",
        ),
    ] = None,
    db: DbOption = DEFAULT_DB,
    as_json: JsonOption = False,
) -> None:
    """Label categories general/typical/variant/rare, compare subgroups, and render the CQR results table."""
    if memberships is not None and cases is None:
        raise InputError("--cases CASES.csv is required with a memberships file", str(memberships))
    options = _options(compare or [], meaningful, difference_rule, profile, bands, rare)
    fmt = _format(output_format, out, as_json)
    for target in (out, chart):
        if target is not None:
            check_output_file(target)
    if out is not None and chart is not None and out.resolve() == chart.resolve():
        raise InputError("--out and --chart name the same file", str(out))

    if memberships is None:
        result = _from_store(db, cases, options)
    else:
        case_table = read_cases(cast(Path, cases))  # required with a memberships file (checked above)
        rows = read_memberships(memberships, case_table)
        try:
            result = cross_analysis(rows, case_table, options)
        except InputError as err:
            raise err.at(path=err.path or str(cases)) from None

    report = None
    if check is not None:
        table = read_user_table(check)
        report = check_report(check_table(table, result, options), table)

    rendered = _render(result, fmt or "table") if out is not None else None
    picture = render.render_chart(result) if chart is not None else None
    for path, content in ((out, rendered), (chart, picture)):
        if path is not None and content is not None:
            write_atomic(path, content)

    for warning in result["warnings"]:
        err_console.print(f"warning: {warning}", style="yellow", markup=False, highlight=False)
    only_check = report is not None and not as_json and output_format is None and out is None
    if as_json:
        emit_json({**result, "check": report} if report is not None else result)
    elif only_check:
        pass
    elif out is None and fmt == "table" and out_console.is_terminal:
        out_console.print(render.render_rich(result))
    elif out is None:
        sys.stdout.write(str(_render(result, fmt or "table")))
    for written in (out, chart):
        if written is not None:
            err_console.print(f"wrote {written}", highlight=False, markup=False)
    if report is not None:
        _print_report(report, sys.stdout if only_check else sys.stderr)
        if not report["consistent"]:
            # SystemExit, not typer.Exit: Click with standalone_mode=False drops Exit codes.
            raise SystemExit(1)


def _from_store(db: str, cases: Path | None, options: CrossOptions) -> dict:
    """Memberships from the store's consensus core ideas x categories; the sample is every case in
    the store (or CASES.csv when given); domains in codebook order; the store's Other categories."""
    from transcode.cross.inputs import store_cross_analysis
    from transcode.store import open_store

    case_table = read_cases(cases) if cases is not None else None
    with open_store(db) as store:
        source = str(cases) if cases is not None else store.label
        try:
            return store_cross_analysis(store, options, cases=case_table, cases_source=source)
        except InputError as err:
            raise err.at(path=err.path or source) from None


def _options(
    compare: list[str], meaningful: str, difference_rule: str, profile: str, bands: Path | None, rare: str
) -> CrossOptions:
    try:
        threshold = parse_fraction(meaningful)
    except ValueError as err:
        raise InputError(f"--meaningful: {err}") from None
    if not 0 < threshold <= 1:
        raise InputError(f"--meaningful {meaningful}: give a share between 0 and 1, e.g. 0.30")
    if difference_rule not in ("pct30", "two_categories"):
        raise InputError(f"--difference-rule {difference_rule}: choose pct30 or two_categories")
    if profile not in PROFILES:
        raise InputError(f"--profile {profile}: choose {', '.join(PROFILES)}")
    if rare not in ("auto", "on", "off"):
        raise InputError(f"--rare {rare}: choose auto, on or off")
    if (profile == "custom") != (bands is not None):
        raise InputError("--bands goes with --profile custom, and --profile custom needs --bands")
    chosen = _custom_profile(bands) if bands is not None else Profile(profile, rare)  # type: ignore[arg-type]
    return CrossOptions(
        profile=chosen,
        meaningful=threshold,
        difference_rule=difference_rule,  # type: ignore[arg-type]
        comparisons=tuple(parse_compare(spec) for spec in compare),
    )


def _custom_profile(path: Path) -> Profile:
    data = read_yaml(path)
    if not isinstance(data, dict):
        raise InputError("expected a mapping such as {general: '>= N-1', variant: '>= 2'}", str(path))
    scalars = (str, int, float)
    odd = next((k for k, v in data.items() if not isinstance(k, str) or not isinstance(v, scalars)), None)
    if odd is not None:
        raise InputError(f"band {str(odd)[:40]!r}: give a rule such as '>= N-1' as text", str(path))
    try:
        return custom_profile({str(k): str(v) for k, v in data.items()})
    except ValueError as err:
        raise InputError(str(err), str(path)) from None


def _format(output_format: str | None, out: Path | None, as_json: bool) -> str | None:
    if output_format is not None and output_format not in FORMATS:
        raise InputError(f"--format {output_format}: choose {', '.join(FORMATS)}")
    fmt = output_format or (_SUFFIX_FORMATS.get(out.suffix.lower(), "table") if out is not None else None)
    if as_json and output_format is not None and out is None:
        raise InputError("--json prints only JSON on stdout: give --out FILE for the --format output")
    if fmt == "docx" and out is None:
        raise InputError("--format docx needs --out FILE.docx")
    return fmt if fmt is not None or as_json else "table"


def _render(result: dict, fmt: str) -> str | bytes:
    if fmt == "csv":
        return render.render_csv(result)
    if fmt == "markdown":
        return render.render_markdown(result)
    if fmt == "docx":
        return render.render_docx(result)
    return render.render_text(result)


def _print_report(report: dict, stream: TextIO) -> None:
    """Linter-style lines, ``TABLE:LINE: kind: row [column]: message``."""
    if report["consistent"]:
        print(
            f"{report['table']}: consistent with the rules and the data ({report['rows_checked']} rows)",
            file=stream,
        )
        return
    for item in report["disagreements"]:
        where = f"{report['table']}:{item['line']}" if item["line"] else report["table"]
        column = f" [{item['column']}]" if item["column"] else ""
        print(f"{where}: {item['kind']}: {item['row']}{column}: {item['message']}", file=stream)
    print(f"{len(report['disagreements'])} disagreement(s)", file=stream)


def register(app: typer.Typer) -> None:
    app.command("cross")(cross)
