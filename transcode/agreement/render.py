"""Showing an agreement report: terminal tables, CSV, Markdown/HTML with plots.

Takes the dict from :func:`transcode.agreement.report.full_report`; computes
nothing itself. Plots use matplotlib's object API (no pyplot, no display).
"""

from __future__ import annotations

import base64
import csv
import html
import io
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.figure import Figure
from rich.console import Console
from rich.table import Table
from rich.text import Text

from transcode.files import ensure_folder, spreadsheet_text, write_atomic

COEFFICIENT_LABELS = {
    "percent_agreement": "% agreement",
    "cohen_kappa": "Cohen κ",
    "fleiss_kappa": "Fleiss κ",
    "krippendorff_alpha": "Krippendorff α",
    "gwet_ac1": "Gwet AC1",
    "prevalence": "prevalence",
}
CSV_COLUMNS = ("scope", "item", "coefficient", "value", "ci_low", "ci_high")


def fmt(value: float | None) -> str:
    return "—" if value is None else f"{value:.3f}"


def _ci(report: dict[str, Any], code: str, name: str) -> list[float] | None:
    return report.get("confidence_intervals", {}).get("per_code", {}).get(code, {}).get(name)


def _overall_ci(report: dict[str, Any], name: str) -> list[float] | None:
    return report.get("confidence_intervals", {}).get("overall", {}).get(name)


def _with_ci(value: float | None, interval: list[float] | None) -> str:
    return fmt(value) if interval is None else f"{fmt(value)} [{interval[0]:.2f}, {interval[1]:.2f}]"


def _coefficient_names(report: dict[str, Any]) -> list[str]:
    names = ["percent_agreement", "cohen_kappa", "fleiss_kappa", "krippendorff_alpha", "gwet_ac1"]
    return [name for name in names if name in report["overall"]]


def tables(report: dict[str, Any]) -> list[Table]:
    """Rich tables: overall, per code (with bootstrap intervals), judge pairs, cases."""
    names = _coefficient_names(report)
    distance = report["overall"]["alpha_distance"]
    overall = Table(
        title=f"Agreement: {report['n_units']} units, {report['n_judges']} judges"
        f" ({'multi-label, α with MASI distance' if distance == 'masi' else 'single-label, nominal'})"
    )
    for name in names:
        overall.add_column(COEFFICIENT_LABELS[name], justify="right")
    overall.add_row(*[_with_ci(report["overall"][name], _overall_ci(report, name)) for name in names])

    per_code = Table(title="Per code (yes/no decisions; 95% bootstrap CI)")
    per_code.add_column("code")
    for name in [*names, "prevalence"]:
        per_code.add_column(COEFFICIENT_LABELS[name], justify="right")
    for code, entry in report["per_code"].items():
        per_code.add_row(
            Text(str(code)),
            *[
                _with_ci(entry.get(name), _ci(report, code, name))
                if name != "prevalence"
                else fmt(entry.get(name))
                for name in [*names, "prevalence"]
            ],
        )

    pairs = Table(title="Judge pairs")
    for column in ("judges", "units", "Cohen κ", "% agreement", "Krippendorff α"):
        pairs.add_column(column, justify="left" if column == "judges" else "right")
    for pair in report["pairs"]:
        pairs.add_row(
            Text(" – ".join(pair["judges"])),
            str(pair.get("n_units", "")),
            fmt(pair["cohen_kappa"]),
            fmt(pair["percent_agreement"]),
            fmt(pair.get("krippendorff_alpha")),
        )
    shown = [overall, per_code, pairs]

    if report.get("per_case"):
        cases = Table(title="Per case")
        for column in ("case", "units", "% agreement", "Krippendorff α"):
            cases.add_column(column, justify="left" if column == "case" else "right")
        for case, entry in report["per_case"].items():
            cases.add_row(
                Text(str(case)),
                str(entry["n_units"]),
                fmt(entry["percent_agreement"]),
                fmt(entry["krippendorff_alpha"]),
            )
        shown.append(cases)
    for title, header, rows in store_sections(report):
        table = Table(title=title)
        for i, column in enumerate(header):
            table.add_column(
                column, justify="left" if i == 0 or column in ("judges", "domain", "note") else "right"
            )
        for row in rows:
            table.add_row(*row)
        shown.append(table)
    return shown


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{value:.0%}"


def store_sections(report: dict[str, Any]) -> list[tuple[str, list[str], list[list[str]]]]:
    """The sections a report from the store adds, as (title, header, rows): each case's calibration,
    the suggestions kept per judge, agreement with and without suggestions, the model as a coder."""
    sections: list[tuple[str, list[str], list[list[str]]]] = []
    calibration = report.get("calibration") or {}
    if calibration:
        rows = []
        for case, entry in calibration.items():
            if "reason" in entry:
                rows.append(
                    [case, ", ".join(entry["judges"]), str(entry["n_units"]), "—", "—", "—", entry["reason"]]
                )
                continue
            weakest = min(
                ((d, e["kappa"]) for d, e in entry["per_domain"].items() if e["kappa"] is not None),
                key=lambda item: item[1],
                default=None,
            )
            rows.append(
                [
                    case,
                    ", ".join(entry["judges"]),
                    str(entry["n_units"]),
                    f"{fmt(entry['kappa'])} ({entry['kappa_kind']})",
                    fmt(entry["alpha"]),
                    fmt(entry["percent_agreement"]),
                    "" if weakest is None else f"{weakest[0]} κ {weakest[1]:.2f}",
                ]
            )
        sections.append(
            (
                "Calibration per case (the judges before consensus)",
                ["case", "judges", "units", "κ", "α", "% agreement", "lowest domain"],
                rows,
            )
        )
        domain_rows = [
            [case, domain, fmt(e["kappa"]), fmt(e["alpha"]), fmt(e["percent_agreement"])]
            for case, entry in calibration.items()
            for domain, e in entry.get("per_domain", {}).items()
        ]
        if domain_rows:
            sections.append(
                ("Calibration per case and domain", ["case", "domain", "κ", "α", "% agreement"], domain_rows)
            )
    suggestions = report.get("suggestions")
    if suggestions:
        rows = [
            [
                judge,
                str(e["units"]),
                str(e["kept"]),
                _percent(e["kept_rate"]),
                str(e["units_with_suggestions"]),
                str(e["units_without_suggestions"]),
                str(e["units_not_recorded"]),
                "above 90% over the last 50 units" if e["note"] else "",
            ]
            for judge, e in suggestions["per_judge"].items()
        ]
        sections.append(
            (
                "Suggestions kept, per judge",
                ["judge", "units", "kept", "kept %", "seen", "not seen", "not recorded", "note"],
                rows,
            )
        )
        rows = [
            [
                stratum,
                str(e["n_units"]),
                fmt(e.get("kappa")) + (f" ({e['kappa_kind']})" if e.get("kappa_kind") else ""),
                fmt(e.get("alpha")),
                fmt(e.get("percent_agreement")),
            ]
            for stratum, e in suggestions["agreement_by_visibility"].items()
        ]
        if rows:
            sections.append(
                (
                    "Judge vs judge, by whether the suggestions were on the screen",
                    ["units coded", "units", "κ", "α", "% agreement"],
                    rows,
                )
            )
        model = suggestions["model_vs_consensus"]
        if model.get("n_units"):
            rows = [
                [
                    "all domains",
                    str(model["n_units"]),
                    fmt(model["cohen_kappa"]),
                    fmt(model["percent_agreement"]),
                ]
            ]
            rows += [
                [domain, str(model["n_units"]), fmt(e["cohen_kappa"]), fmt(e["percent_agreement"])]
                for domain, e in model["per_domain"].items()
            ]
            sections.append(
                (
                    "The model as one more coder, against the consensus",
                    ["domain", "units", "Cohen κ", "% agreement"],
                    rows,
                )
            )
    return sections


def print_report(report: dict[str, Any], console: Console) -> None:
    for table in tables(report):
        console.print(table)
    for where, reason in report.get("undefined", {}).items():
        console.print(Text(f"{where} is undefined: {reason}", style="dim"))


def csv_rows(report: dict[str, Any]) -> list[dict[str, Any]]:
    """Long format: one row per (scope, item, coefficient), with the interval where there is one."""
    rows: list[dict[str, Any]] = []

    def add(scope: str, item: str, name: str, value: Any, interval: list[float] | None = None) -> None:
        rows.append(
            {
                "scope": scope,
                "item": item,
                "coefficient": name,
                "value": value,
                "ci_low": interval[0] if interval else None,
                "ci_high": interval[1] if interval else None,
            }
        )

    overall_ci = report.get("confidence_intervals", {}).get("overall", {})
    for name, value in report["overall"].items():
        if isinstance(value, float | int) or value is None:
            add("overall", "all", name, value, overall_ci.get(name))
    for code, entry in report["per_code"].items():
        for name, value in entry.items():
            add("code", code, name, value, _ci(report, code, name))
    for pair in report["pairs"]:
        for name in ("cohen_kappa", "percent_agreement", "krippendorff_alpha", "n_units"):
            if name in pair:
                add("pair", "|".join(pair["judges"]), name, pair[name])
    for case, entry in report.get("per_case", {}).items():
        for name, value in entry.items():
            add("case", case, name, value)
    return rows


def write_csv(report: dict[str, Any], path: Path) -> None:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in csv_rows(report):
        writer.writerow({key: "" if value is None else spreadsheet_text(value) for key, value in row.items()})
    write_atomic(path, buffer.getvalue())


def plot_code_alpha(report: dict[str, Any]) -> Figure:
    """Dot-and-whisker plot: per-code (domain) Krippendorff's alpha with 95% bootstrap intervals."""
    codes = list(report["per_code"])
    figure = Figure(figsize=(7, 0.45 * max(len(codes), 2) + 1.4))
    axes = figure.add_subplot()
    kappa_name = "cohen_kappa" if report["n_judges"] == 2 else "fleiss_kappa"
    for offset, name, marker in ((-0.15, "krippendorff_alpha", "o"), (0.15, kappa_name, "s")):
        ys, xs, lows, highs = [], [], [], []
        for i, code in enumerate(codes):
            value = report["per_code"][code].get(name)
            if value is None:
                continue
            interval = _ci(report, code, name) or [value, value]
            ys.append(i + offset)
            xs.append(value)
            lows.append(value - interval[0])
            highs.append(interval[1] - value)
        axes.errorbar(xs, ys, xerr=[lows, highs], fmt=marker, capsize=3, label=COEFFICIENT_LABELS[name])
    for threshold, style in ((0.667, ":"), (0.8, "--")):
        axes.axvline(threshold, color="grey", linestyle=style, linewidth=0.8)
    axes.set_yticks(range(len(codes)), codes)
    axes.invert_yaxis()
    axes.set_xlim(min(-0.2, axes.get_xlim()[0]), 1.05)
    axes.set_xlabel("agreement (dotted 0.667, dashed 0.80: Krippendorff's thresholds)")
    axes.set_title("Per-code agreement, 95% bootstrap CI")
    axes.legend(loc="lower left", fontsize="small")
    figure.tight_layout()
    return figure


def plot_confusion(report: dict[str, Any]) -> Figure:
    """Heatmap of which codes two judges mix up (rows: first judge, columns: second)."""
    confusion = report["confusion"]
    counts = np.asarray(confusion["counts"], dtype=float)
    labels = confusion["labels"]
    size = max(4.0, 0.6 * len(labels) + 2)
    figure = Figure(figsize=(size + 1, size))
    axes = figure.add_subplot()
    image = axes.imshow(counts, cmap="Blues")
    figure.colorbar(image, ax=axes, label="units")
    axes.set_xticks(range(len(labels)), labels, rotation=45, ha="right")
    axes.set_yticks(range(len(labels)), labels)
    first, second = confusion["judges"]
    axes.set_ylabel(f"judge {first}")
    axes.set_xlabel(f"judge {second}")
    axes.set_title(f"What {first} and {second} coded the same units")
    peak = counts.max() if counts.size else 0
    for (row, column), value in np.ndenumerate(counts):
        if value:
            axes.text(
                column,
                row,
                f"{value:g}",
                ha="center",
                va="center",
                fontsize="small",
                color="white" if value > peak / 2 else "black",
            )
    figure.tight_layout()
    return figure


def plot_over_time(report: dict[str, Any]) -> Figure:
    """Cumulative and rolling alpha with units in coding order."""
    points = report["over_time"]["points"]
    figure = Figure(figsize=(7, 3.2))
    axes = figure.add_subplot()
    xs = [point["units"] for point in points]
    for key, label in (
        ("cumulative_alpha", "cumulative"),
        ("rolling_alpha", f"rolling, last {report['over_time']['window']} units"),
    ):
        axes.plot(
            xs, [np.nan if point[key] is None else point[key] for point in points], marker=".", label=label
        )
    axes.set_xlabel("units coded (coding order)")
    axes.set_ylabel("Krippendorff α")
    axes.set_title("Agreement over time")
    axes.legend(fontsize="small")
    figure.tight_layout()
    return figure


def _png(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110)
    return buffer.getvalue()


def _plots(report: dict[str, Any]) -> list[tuple[str, str, bytes]]:
    """(file stem, caption, PNG) for every plot the report has data for."""
    plots = []
    if report["per_code"]:
        plots.append(
            (
                "per_code_alpha",
                "Per-code agreement with 95% bootstrap intervals",
                _png(plot_code_alpha(report)),
            )
        )
    if report.get("confusion"):
        judges = " and ".join(report["confusion"]["judges"])
        plots.append(
            ("confusion", f"Codes judges {judges} gave the same units", _png(plot_confusion(report)))
        )
    if report.get("over_time"):
        plots.append(("over_time", "Agreement over time", _png(plot_over_time(report))))
    return plots


def _markdown_tables(report: dict[str, Any]) -> str:
    names = _coefficient_names(report)
    lines = [
        "| | " + " | ".join(COEFFICIENT_LABELS[n] for n in names) + " |",
        "|---|" + "---:|" * len(names),
        "| overall | "
        + " | ".join(_with_ci(report["overall"][n], _overall_ci(report, n)) for n in names)
        + " |",
        "",
    ]
    lines += [
        "| code | " + " | ".join(COEFFICIENT_LABELS[n] for n in [*names, "prevalence"]) + " |",
        "|---|" + "---:|" * (len(names) + 1),
    ]
    for code, entry in report["per_code"].items():
        cells = [_with_ci(entry.get(n), _ci(report, code, n)) for n in names] + [fmt(entry.get("prevalence"))]
        lines.append(f"| {code} | " + " | ".join(cells) + " |")
    lines += ["", "| judges | units | Cohen κ | % agreement | Krippendorff α |", "|---|---:|---:|---:|---:|"]
    for pair in report["pairs"]:
        lines.append(
            f"| {' – '.join(pair['judges'])} | {pair.get('n_units', '')} | {fmt(pair['cohen_kappa'])} | "
            f"{fmt(pair['percent_agreement'])} | {fmt(pair.get('krippendorff_alpha'))} |"
        )
    if report.get("per_case"):
        lines += ["", "| case | units | % agreement | Krippendorff α |", "|---|---:|---:|---:|"]
        for case, entry in report["per_case"].items():
            lines.append(
                f"| {case} | {entry['n_units']} | {fmt(entry['percent_agreement'])} | "
                f"{fmt(entry['krippendorff_alpha'])} |"
            )
    for _title, header, rows in store_sections(report):
        lines += ["", "| " + " | ".join(header) + " |", "|---|" + "---:|" * (len(header) - 1)]
        lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def _notes(report: dict[str, Any]) -> list[str]:
    notes = [f"Percent agreement: {report['percent_agreement_definition']}."]
    if report["overall"]["alpha_distance"] == "masi":
        notes.append(
            "Units carry several codes: overall α uses the MASI distance between code sets "
            "(Passonneau 2006); percent agreement, Fleiss and Gwet compare exact code sets."
        )
    intervals = report.get("confidence_intervals")
    if intervals:
        notes.append(
            f"Intervals: {intervals['method']}, {intervals['resamples']} resamples, seed {intervals['seed']}."
        )
    notes += [f"{where} is undefined: {reason}." for where, reason in report.get("undefined", {}).items()]
    if report.get("calibration"):
        notes.append(
            "Calibration: each case's judges before consensus (κ: Cohen for two judges, Fleiss for more; "
            "α as overall)."
        )
    if report.get("suggestions"):
        notes.append(
            "Suggestions: a unit counts as seen when the model's suggestion was on the judge's screen at "
            "any of their decisions on it, not seen when at none; 'not recorded' units were coded before "
            "transcode recorded it. Judge-vs-judge agreement is shown apart for units every judge coded "
            "with the suggestion seen, every judge without, and the rest (mixed). The model row compares "
            "the model's current suggestions with the team's consensus."
        )
    if report.get("withheld_cases"):
        notes.append(f"Left out: cases {', '.join(report['withheld_cases'])}, still in independent coding.")
    if (report.get("codes") or {}).get("note"):
        notes.append(f"Codes compared: {report['codes']['note']}.")
    return notes


def write_document(report: dict[str, Any], path: Path) -> None:
    """A Markdown (PNG files beside it) or self-contained HTML (PNGs inlined) report."""
    path = Path(path)
    title = f"Inter-judge agreement: {report['n_units']} units, {report['n_judges']} judges"
    plots = _plots(report)
    if path.suffix.lower() == ".md":
        folder = path.parent / f"{path.stem}_plots"
        ensure_folder(folder)
        parts = [f"# {title}", "", _markdown_tables(report), ""]
        parts += [f"- {note}" for note in _notes(report)]
        for stem, caption, png in plots:
            write_atomic(folder / f"{stem}.png", png)
            parts += ["", f"![{caption}]({folder.name}/{stem}.png)"]
        write_atomic(path, "\n".join(parts) + "\n")
        return
    body = [f"<h1>{html.escape(title)}</h1>"]
    for table in _markdown_tables(report).split("\n\n"):
        body.append(_html_table(table))
    body.append("<ul>" + "".join(f"<li>{html.escape(note)}</li>" for note in _notes(report)) + "</ul>")
    for _, caption, png in plots:
        encoded = base64.b64encode(png).decode("ascii")
        body.append(
            f'<figure><img alt="{html.escape(caption)}" src="data:image/png;base64,{encoded}">'
            f"<figcaption>{html.escape(caption)}</figcaption></figure>"
        )
    document = (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title><style>"
        "body{font-family:sans-serif;max-width:60rem;margin:2rem auto}"
        "table{border-collapse:collapse;margin:1rem 0}td,th{border:1px solid #ccc;padding:.25rem .5rem}"
        "td{text-align:right}td:first-child{text-align:left}img{max-width:100%}"
        "</style></head><body>\n" + "\n".join(body) + "\n</body></html>\n"
    )
    write_atomic(path, document)


def _html_table(markdown: str) -> str:
    """One pipe table (as :func:`_markdown_tables` writes it) as HTML."""
    rows = [
        line.strip("|").split(" | ") for line in markdown.strip().splitlines() if not line.startswith("|---")
    ]
    if not rows:
        return ""
    head = "".join(f"<th>{html.escape(cell.strip())}</th>" for cell in rows[0])
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(cell.strip())}</td>" for cell in row) + "</tr>"
        for row in rows[1:]
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
