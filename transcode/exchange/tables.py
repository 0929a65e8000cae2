"""The project as flat tables for R, SPSS and Excel users: pandas DataFrames, CSV files, one workbook.

One row per observation, plain column names, codes in long format (one row per unit x judge x
code), so ``read.csv`` / ``pd.read_csv`` and SPSS import need no reshaping.

The ``codes`` and ``decisions`` tables contain every judge's codes: they are for after the
independent-coding phase (agreement and consensus), not for judges who are still coding blind.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from transcode.analysis.categories import categories
from transcode.analysis.core_ideas import core_ideas
from transcode.coding.codes import current_codes
from transcode.cross.inputs import store_cross_analysis
from transcode.files import atomic_writer, ensure_folder, spreadsheet_text
from transcode.store import Store
from transcode.store.snapshot import consensus_records, unit_records

TABLES = (
    "units",
    "codes",
    "decisions",
    "consensus",
    "core_ideas",
    "categories",
    "cross_analysis",
    "codebook_history",
)


def units_table(store: Store) -> pd.DataFrame:
    """Thought units in transcript order, with the case's attributes as columns."""
    cases = store.case_attributes()
    attributes = sorted({a for values in cases.values() for a in values})
    rows = [
        {**u._asdict(), **{a: cases.get(u.case, {}).get(a) for a in attributes}} for u in unit_records(store)
    ]
    return pd.DataFrame(
        rows, columns=["case", "unit", "position", "turn", "start", "end", "text", "question", *attributes]
    )


def decisions_table(store: Store) -> pd.DataFrame:
    """The append-only decision log: who decided what on which unit, when, and from which model."""
    columns = [
        "id",
        "time",
        "judge",
        "role",
        "case",
        "unit",
        "domain",
        "action",
        "note",
        "model_version",
        "suggestions_shown",
    ]
    return pd.DataFrame([tuple(r) for r in store.decision_log()], columns=columns)


def codes_table(store: Store) -> pd.DataFrame:
    """Each judge's current codes in the current codebook, one row per unit x judge x code
    (``other``: no domain); the ``decisions`` table keeps the codes as they were given."""
    rows = store.decision_log()
    dmap = store.domain_map()
    case_of = {r.unit: r.case for r in rows}
    by_judge: dict[tuple[str, str], list] = {}
    for r in rows:
        by_judge.setdefault((r.judge, r.role), []).append((r.unit, r.domain, r.action))
    out = [
        {"case": case_of[unit], "unit": unit, "judge": judge, "role": role, "code": code}
        for (judge, role), log in sorted(by_judge.items())
        for unit, codes in sorted(dmap.all_codes(current_codes(log)).items())
        for code in sorted(codes)
    ]
    return pd.DataFrame(out, columns=["case", "unit", "judge", "role", "code"])


def consensus_table(store: Store) -> pd.DataFrame:
    """The team's agreed domains per unit, one row per unit x domain."""
    return pd.DataFrame(
        [tuple(r) for r in consensus_records(store)],
        columns=["case", "unit", "domain", "recorded_by", "note"],
    )


def core_ideas_table(store: Store) -> pd.DataFrame:
    """Current core ideas with their units and category names (``;``-separated)."""
    names = {c.id: c.name for c in categories(store)}
    rows = [
        {
            "id": v.id,
            "case": v.case,
            "domain": v.domain,
            "text": v.text,
            "status": v.status,
            "author": v.author,
            "counted": v.counted,
            "units": ";".join(v.units),
            "categories": ";".join(names[c] for c in v.categories if c in names),
        }
        for v in core_ideas(store)
    ]
    columns = ["id", "case", "domain", "text", "status", "author", "counted", "units", "categories"]
    return pd.DataFrame(rows, columns=columns)


def categories_table(store: Store) -> pd.DataFrame:
    """Categories and subcategories with the distinct cases (count and list) holding a counted core idea."""
    rows = [
        {
            "id": c.id,
            "domain": c.domain,
            "category": c.parent or c.name,
            "subcategory": c.name if c.parent else "",
            "is_other": c.is_other,
            "n_cases": len(c.cases),
            "n_core_ideas": len(c.core_ideas),
            "cases": ";".join(c.cases),
        }
        for c in categories(store)
    ]
    columns = ["id", "domain", "category", "subcategory", "is_other", "n_cases", "n_core_ideas", "cases"]
    return pd.DataFrame(rows, columns=columns)


def cross_table(store: Store, compare: Sequence[str] = ()) -> pd.DataFrame:
    """The cross-analysis (docs/formats.md section 6) as one row per (sub)category, comparisons as columns.

    ``compare`` holds ``--compare`` specs as ``transcode cross`` reads them: ``ATTR`` compares
    ``high`` with ``low``, ``ATTR=A:B`` other values.
    """
    result = store_cross_analysis(store, compare=compare)
    rows = []
    for row in result["categories"]:
        flat = {
            k: row[k]
            for k in ("domain", "subdomain", "category", "subcategory", "level", "count", "percent", "label")
        }
        flat["n_cases"] = result["n_cases"]
        for attribute, block in (row.get("compare") or {}).items():
            for group, values in block.items():
                if isinstance(values, dict):
                    for key in ("n", "count", "percent", "label"):
                        flat[f"{attribute}_{group}_{key}"] = values.get(key)
            flat[f"{attribute}_meaningful"] = block.get("meaningful")
        flat["cases"] = ";".join(row["cases"])
        rows.append(flat)
    return pd.DataFrame(rows)


def codebook_history_table(store: Store) -> pd.DataFrame:
    """Every codebook version and how it came from the one before: one row per operation
    (a version given whole to ``init`` has one row, operation empty), with what each moved."""
    rows = []
    for v in store.codebook_versions():
        changes = v.changes or {}
        base = {"version": v.version, "time": v.time, "name": v.name, "by": changes.get("by") or ""}
        domains = ";".join(d["id"] for d in v.body.get("domains", []))
        operations = changes.get("operations") or [None]
        for op in operations:
            moved = (op or {}).get("moved", {})
            rows.append(
                {
                    **base,
                    "operation": (op or {}).get("op", ""),
                    "from": ";".join((op or {}).get("from", [])),
                    "to": ";".join((op or {}).get("to", [])),
                    **{f"moved_{kind}": moved.get(kind, 0) for kind in HOLDINGS_MOVED},
                    "domains": domains,
                }
            )
    columns = ["version", "time", "name", "by", "operation", "from", "to"]
    columns += [f"moved_{kind}" for kind in HOLDINGS_MOVED] + ["domains"]
    return pd.DataFrame(rows, columns=columns)


#: What an operation counts as moved, in the history table's column order.
HOLDINGS_MOVED = ("judge_codes", "consensus_codes", "proposals", "core_ideas", "categories", "recode")


BUILDERS: dict[str, Callable[..., pd.DataFrame]] = {
    "units": units_table,
    "codes": codes_table,
    "decisions": decisions_table,
    "consensus": consensus_table,
    "core_ideas": core_ideas_table,
    "categories": categories_table,
    "cross_analysis": cross_table,
    "codebook_history": codebook_history_table,
}


def all_tables(store: Store) -> dict[str, pd.DataFrame]:
    return {name: build(store) for name, build in BUILDERS.items()}


def _for_file(frame: pd.DataFrame) -> pd.DataFrame:
    """Timezone-aware times as ISO text: Excel has no time zones, and CSV readers agree on ISO."""
    out = frame.copy()
    for column in out.columns:
        if (
            isinstance(out[column].dtype, pd.DatetimeTZDtype)
            or out[column].map(lambda v: hasattr(v, "isoformat")).any()
        ):
            out[column] = out[column].map(lambda v: v.isoformat() if hasattr(v, "isoformat") else v)
    return out


def write_csv(tables: dict[str, pd.DataFrame], folder: str | Path) -> list[Path]:
    """One UTF-8 CSV per table in ``folder`` (created); each file appears only when complete.

    Text that a spreadsheet would run as a formula (``=``, ``+``, ``-``, ``@``...) gets a leading
    ``'`` (:func:`~transcode.files.spreadsheet_text`)."""
    folder = ensure_folder(folder)
    written = []
    for name, frame in tables.items():
        path = folder / f"{name}.csv"
        safe = _for_file(frame)
        safe.columns = [spreadsheet_text(str(c)) for c in safe.columns]
        for column in safe.select_dtypes(include="object").columns:
            safe[column] = safe[column].map(spreadsheet_text)
        with atomic_writer(path, newline="") as stream:
            safe.to_csv(stream, index=False)
        written.append(path)
    return written


def write_xlsx(tables: dict[str, pd.DataFrame], path: str | Path) -> Path:
    """One workbook, one sheet per table; the file appears only when complete.

    Written row by row with XlsxWriter in its constant-memory mode (each row goes to disk once
    complete, so memory stays flat in the size of the project; safe here because rows are written
    in order, unlike pandas' column-wise writer). Every text cell is written as text: what starts
    like a formula (or a number, or a link) is shown, never run or converted."""
    import xlsxwriter

    path = Path(path)
    with atomic_writer(path, binary=True) as stream:
        book = xlsxwriter.Workbook(
            stream,
            {
                "constant_memory": True,
                "strings_to_formulas": False,
                "strings_to_numbers": False,
                "strings_to_urls": False,
            },
        )
        try:
            for name, frame in tables.items():
                _write_sheet(book.add_worksheet(name[:31]), _for_file(frame))
        finally:
            book.close()
    return path


def _write_sheet(sheet, frame: pd.DataFrame) -> None:
    for column, name in enumerate(frame.columns):
        sheet.write_string(0, column, str(name))
    for row, values in enumerate(frame.itertuples(index=False, name=None), start=1):
        for column, value in enumerate(values):
            _write_cell(sheet, row, column, value)


def _write_cell(sheet, row: int, column: int, value: object) -> None:
    if isinstance(value, str):
        sheet.write_string(row, column, value)
    elif isinstance(value, bool | np.bool_):
        sheet.write_boolean(row, column, bool(value))
    elif isinstance(value, int | float | np.integer | np.floating):
        if np.isfinite(value):
            sheet.write_number(row, column, float(value) if isinstance(value, np.floating) else value)
    elif value is not None and not (pd.api.types.is_scalar(value) and pd.isna(value)):
        sheet.write_string(row, column, str(value))
