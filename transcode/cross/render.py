"""The CQR results table (domain / category / subcategory rows, ``T (8)`` cells, ``*``) in several formats.

Every renderer works from :func:`display_rows`, so the terminal, CSV, Markdown
and Word versions of one analysis always say the same thing. Renderers return
text or bytes; writing files is the caller's job.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

from rich.console import Console
from rich.table import Table
from rich.text import Text

from transcode.cross.labels import abbreviation
from transcode.files import spreadsheet_text

_INDENT = "    "


@dataclass(frozen=True)
class DisplayRow:
    """One table row: a domain or subdomain heading (no cells), a category or a subcategory."""

    kind: str  # domain | subdomain | category | subcategory
    text: str
    cells: tuple[str, ...] = ()
    source: dict | None = None


def cell_text(count: int, label: str, star: bool = False) -> str:
    """``T (8)`` for a labelled count, the bare count otherwise; ``*`` marks a meaningful difference."""
    text = f"{abbreviation(label)} ({count})" if label else str(count)
    return text + ("*" if star else "")


def column_headers(result: dict, separator: str = ": ") -> list[str]:
    """``Total (N = 14)`` then one ``ATTR: GROUP (n = 5)`` per compared subgroup."""
    headers = [f"Total (N = {result['n_cases']})"]
    for comparison in result["comparisons"]:
        for group in comparison["groups"]:
            headers.append(f"{comparison['attribute']}{separator}{group} (n = {comparison['n'][group]})")
    return headers


def row_cells(row: dict, result: dict) -> tuple[str, ...]:
    cells = [cell_text(row["count"], row["label"])]
    for comparison in result["comparisons"]:
        block = row["compare"][comparison["attribute"]]
        for group in comparison["groups"]:
            star = block["meaningful"] and block["higher"] == group
            cells.append(cell_text(block[group]["count"], block[group]["label"], star))
    return tuple(cells)


def display_rows(result: dict) -> list[DisplayRow]:
    """Headings where the domain or subdomain changes, then the category and subcategory rows."""
    rows: list[DisplayRow] = []
    domain = subdomain = None
    for row in result["categories"]:
        if row["domain"] != domain:
            domain, subdomain = row["domain"], None
            rows.append(DisplayRow("domain", domain))
        if row["subdomain"] != subdomain:
            subdomain = row["subdomain"]
            if subdomain:
                rows.append(DisplayRow("subdomain", subdomain))
        text = row["subcategory"] or row["category"]
        rows.append(DisplayRow(row["level"], text, row_cells(row, result), row))
    return rows


def note(result: dict) -> str:
    """The note under the table: what the labels mean at this N, and the meaningful differences."""
    n = result["n_cases"]
    bands = ", ".join(
        f"{name} ({abbreviation(name)}) = {low}\u2013{high} cases"
        if low != high
        else f"{name} ({abbreviation(name)}) = {low} cases"
        for name, (low, high) in result["cutoffs"].items()
    )
    parts = [f"N = {n}. {bands[0].upper()}{bands[1:]}." if bands else f"N = {n}."]
    parts.append("A count without a letter applies to one case (or is Other) and takes no label.")
    if result["comparisons"]:
        parts.append(
            "Within subgroups: general = all cases, typical = more than half, variant = from 2 up to half."
        )
        if result["difference_rule"] == "two_categories":
            rule = "subgroups' labels are at least two frequency categories apart"
        else:
            points = f"{result['meaningful_threshold'] * 100:g}"
            rule = f"subgroups' shares differ by at least {points} percentage points"
        counts = []
        for comparison in result["comparisons"]:
            higher = ", ".join(
                f"{group} higher in {count}" for group, count in comparison["higher_count"].items() if count
            )
            counts.append(
                f"{comparison['attribute']} ({' vs '.join(comparison['groups'])}): "
                f"{comparison['meaningful_count']} meaningful difference"
                f"{'' if comparison['meaningful_count'] == 1 else 's'}" + (f" ({higher})" if higher else "")
            )
        parts.append(
            f"* marks the subgroup with the higher share where the {rule}; " + "; ".join(counts) + "."
        )
    return " ".join(parts)


def render_rich(result: dict) -> Table:
    """The table for the terminal."""
    table = Table(
        title="Cross-analysis", caption=f"Note. {note(result)}", caption_justify="left", show_lines=False
    )
    table.add_column("Domain / category")
    for header in column_headers(result):
        table.add_column(Text(header), justify="center")
    width = len(column_headers(result))
    for row in display_rows(result):  # Text, never markup: names are the team's own words
        if row.kind == "domain":
            table.add_row(Text(row.text, style="bold"), *[""] * width)
        elif row.kind == "subdomain":
            table.add_row(Text(f"{_INDENT[:2]}{row.text}", style="italic"), *[""] * width)
        else:
            table.add_row(Text(_indent(row) + row.text), *(Text(c) for c in row.cells))
    return table


def render_text(result: dict, width: int = 120) -> str:
    """The terminal table as plain text, for pipes and files."""
    buffer = io.StringIO()
    console = Console(file=buffer, width=width, color_system=None, force_terminal=False)
    console.print(render_rich(result))
    return buffer.getvalue()


def render_csv(result: dict) -> str:
    """One row per category: structure columns, then ``T (8)`` cells (the form --check reads back)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    safe = spreadsheet_text
    headers = ["domain", "subdomain", "category", "subcategory", *column_headers(result, "=")]
    writer.writerow(map(safe, headers))
    for row in display_rows(result):
        if row.source is not None:
            source = row.source
            structure = [source["domain"], source["subdomain"], source["category"], source["subcategory"]]
            writer.writerow([*map(safe, structure), *map(safe, row.cells)])
    return buffer.getvalue()


def render_markdown(result: dict) -> str:
    headers = ["Domain / category", *column_headers(result)]
    lines = [
        "| " + " | ".join(headers) + " |",
        "|" + "|".join([" --- "] + [" :---: "] * (len(headers) - 1)) + "|",
    ]
    for row in display_rows(result):
        if row.kind == "domain":
            cells = [f"**{_md(row.text)}**", *[""] * (len(headers) - 1)]
        elif row.kind == "subdomain":
            cells = [f"*{_md(row.text)}*", *[""] * (len(headers) - 1)]
        else:
            prefix = "&nbsp;" * (4 if row.kind == "subcategory" else 2)
            cells = [prefix + _md(row.text), *(_md(c) for c in row.cells)]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + f"\n\n*Note.* {_md(note(result))}\n"


def render_docx(result: dict, title: str = "Table 1") -> bytes:
    """A manuscript-style Word table (APA rules: no vertical lines), with its note underneath."""
    from docx import Document
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Cm, Pt

    document = Document()
    heading = document.add_paragraph()
    heading.add_run(title).bold = True
    caption = document.add_paragraph()
    caption.add_run(
        "Domains, Categories, and Frequencies"
        + (" for the Sample and Subgroups" if result["comparisons"] else "")
    ).italic = True

    headers = ["Domain / category", *column_headers(result)]
    table = document.add_table(rows=1, cols=len(headers))
    for cell, text in zip(table.rows[0].cells, headers, strict=True):
        cell.text = text
        cell.paragraphs[0].runs[0].bold = True
        _border(cell, "top", "bottom")
    for row in display_rows(result):
        cells = table.add_row().cells
        if row.kind in ("domain", "subdomain"):
            merged = cells[0].merge(cells[-1])
            run = merged.paragraphs[0].add_run(row.text)
            run.bold, run.italic = row.kind == "domain", row.kind == "subdomain"
            continue
        cells[0].text = row.text
        cells[0].paragraphs[0].paragraph_format.left_indent = Cm(0.5 if row.kind == "category" else 1.0)
        for cell, text in zip(cells[1:], row.cells, strict=True):
            cell.text = text
            cell.paragraphs[0].alignment = WD_ALIGN_PARAGRAPH.CENTER
    for cell in table.rows[-1].cells:
        _border(cell, "bottom")
    for paragraph in (p for r in table.rows for c in r.cells for p in c.paragraphs):
        for run in paragraph.runs:
            run.font.size = Pt(10)

    note_paragraph = document.add_paragraph()
    note_paragraph.add_run("Note.").italic = True
    note_paragraph.add_run(" " + note(result))
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def render_chart(result: dict) -> bytes:
    """A PNG of category shares (%) in the sample and each subgroup; ``*`` on meaningful differences."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    rows = [r for r in result["categories"] if r["label"]]
    series = [("Total", [r["percent"] for r in rows], [False] * len(rows))]
    for comparison in result["comparisons"]:
        attribute = comparison["attribute"]
        for group in comparison["groups"]:
            blocks = [r["compare"][attribute] for r in rows]
            series.append(
                (
                    f"{attribute}: {group}",
                    [b[group]["percent"] for b in blocks],
                    [b["meaningful"] and b["higher"] == group for b in blocks],
                )
            )
    names = [
        ("    " if r["level"] == "subcategory" else "") + _shorten(r["subcategory"] or r["category"])
        for r in rows
    ]
    figure, axes = plt.subplots(figsize=(9, max(2.5, 0.28 * len(rows) * len(series) + 1.2)))
    height = 0.8 / len(series)
    positions = np.arange(len(rows))
    for i, (name, values, stars) in enumerate(series):
        offsets = positions + (i - (len(series) - 1) / 2) * height
        axes.barh(offsets, values, height=height, label=name)
        for y, value, star in zip(offsets, values, stars, strict=True):
            if star:
                axes.text(value + 1, y, "*", va="center", fontsize=12, fontweight="bold")
    axes.set_yticks(positions, names)
    axes.invert_yaxis()
    axes.set_xlim(0, 108)
    axes.set_xlabel("cases with the category (%)")
    axes.set_title(f"Category frequencies (N = {result['n_cases']})")
    if not rows:
        axes.text(50, 0, "no labelled categories", ha="center")
    axes.legend(loc="lower right", fontsize=8)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=120)
    plt.close(figure)
    return buffer.getvalue()


def _indent(row: DisplayRow) -> str:
    return _INDENT if row.kind == "subcategory" else _INDENT[:2]


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("*", "\\*")


def _shorten(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


def _border(cell, *edges: str) -> None:
    """Single horizontal rule(s) on a Word table cell: python-docx has no API for cell borders."""
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    properties = cell._tc.get_or_add_tcPr()
    borders = properties.find(qn("w:tcBorders"))
    if borders is None:
        borders = OxmlElement("w:tcBorders")
        properties.append(borders)
    for edge in edges:
        element = OxmlElement(f"w:{edge}")
        element.set(qn("w:val"), "single")
        element.set(qn("w:sz"), "8")
        element.set(qn("w:color"), "000000")
        borders.append(element)
