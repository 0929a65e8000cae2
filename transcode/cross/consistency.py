"""Check a results table a user wrote against the CQR rules and the data.

A table drifts from its data while a paper is revised: a count changes and its
label does not, a `*` stays after a subgroup changed. Each disagreement is listed
with the table line, so the author can fix it before a reviewer finds it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field

from transcode.cross.analysis import CrossOptions
from transcode.cross.labels import (
    Profile,
    label_subgroup,
    meaningful,
    shown_label,
    two_categories_apart,
)
from transcode.errors import InputError

_WORDS = {
    "g": "general",
    "t": "typical",
    "v": "variant",
    "r": "rare",
    "general": "general",
    "typical": "typical",
    "variant": "variant",
    "rare": "rare",
}
_CELL = re.compile(
    r"^(?P<label>general|typical|variant|rare|[gtvr])?\s*(?:\(\s*(?P<paren>\d+)\s*\)|(?P<bare>\d+))?\s*(?P<star>\*)?$",
    re.IGNORECASE,
)
_EMPTY_CELLS = {"", "-", "\u2013", "\u2014", "absent", "none"}
_SIZE = re.compile(r"\(\s*n\s*=\s*(\d+)\s*\)\s*$", re.IGNORECASE)
_SAMPLE_HEADER = re.compile(r"^(label|sample|total|all|all cases|overall|frequency|n)$", re.IGNORECASE)
STRUCTURE_COLUMNS = ("domain", "subdomain", "category", "subcategory")


@dataclass(frozen=True)
class Cell:
    """A table cell such as ``T (8)``, ``G (5)*``, ``typical``, ``1`` or empty."""

    text: str
    label: str = ""
    count: int | None = None
    star: bool = False


def parse_cell(text: str) -> Cell:
    """Read one frequency cell; raise ValueError when it is not one."""
    cleaned = text.strip()
    if cleaned.casefold() in _EMPTY_CELLS:
        return Cell(text)
    match = _CELL.match(cleaned)
    if not match or not (match["label"] or match["paren"] or match["bare"]):
        raise ValueError(
            f"cannot read frequency cell {text!r}: write e.g. 'T (8)', 'G (5)*', 'variant' or '1'"
        )
    count = match["paren"] or match["bare"]
    return Cell(
        text,
        _WORDS[match["label"].casefold()] if match["label"] else "",
        int(count) if count is not None else None,
        bool(match["star"]),
    )


@dataclass(frozen=True)
class Column:
    """A frequency column: the sample (``group`` None) or one compared subgroup."""

    header: str
    attribute: str | None = None
    group: str | None = None
    n: int | None = None

    @property
    def is_sample(self) -> bool:
        return self.group is None


def parse_column(header: str) -> Column:
    """``Total (N = 14)``, ``sample``, ``anxiety=high (n = 5)``, ``anxiety: high`` or ``high``."""
    size = _SIZE.search(header)
    name = _SIZE.sub("", header).strip()
    n = int(size.group(1)) if size else None
    if _SAMPLE_HEADER.match(name):
        return Column(header, n=n)
    attribute, sep, group = name.partition("=") if "=" in name else name.partition(":")
    if sep:
        return Column(header, attribute.strip().lower(), group.strip(), n)
    return Column(header, None, name, n)


@dataclass(frozen=True)
class TableRow:
    line: int
    domain: str
    subdomain: str
    category: str
    subcategory: str
    cells: dict[str, Cell] = field(default_factory=dict)

    @property
    def title(self) -> str:
        return " / ".join(p for p in (self.domain, self.subdomain, self.category, self.subcategory) if p)


@dataclass(frozen=True)
class UserTable:
    path: str
    header_line: int
    columns: tuple[Column, ...]
    rows: tuple[TableRow, ...]
    has_subdomain: bool


@dataclass(frozen=True)
class Disagreement:
    kind: str  # label | count | meaningful | n | unknown_row | missing_row | duplicate_row
    row: str
    column: str
    stated: str
    expected: str
    message: str
    line: int | None = None

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class _Expected:
    n: int
    count: int


def check_table(table: UserTable, result: dict, options: CrossOptions | None = None) -> list[Disagreement]:
    """Every place the table disagrees with the rules (labels, `*`) or the data (counts, rows, sizes).

    ``result`` is :func:`cross_analysis` output made with the same ``options``.
    """
    options = options or CrossOptions()
    columns = _resolve_columns(table, result)
    index = {
        _row_key(r["domain"], r["subdomain"], r["category"], r["subcategory"], table.has_subdomain): r
        for r in result["categories"]
    }
    found: set[tuple] = set()
    disagreements = list(_size_disagreements(table, columns, result))
    for row in table.rows:
        key = _row_key(row.domain, row.subdomain, row.category, row.subcategory, table.has_subdomain)
        if key in found:
            disagreements.append(
                Disagreement(
                    "duplicate_row", row.title, "", "", "", "this row appears twice in the table", row.line
                )
            )
            continue
        found.add(key)
        data_row = index.get(key)
        if data_row is None:
            disagreements.append(
                Disagreement("unknown_row", row.title, "", "", "", "no such category in the data", row.line)
            )
            continue
        disagreements.extend(_row_disagreements(row, data_row, columns, result, options))
    for key, data_row in index.items():
        if key not in found and data_row["label"]:
            title = " / ".join(
                p
                for p in (
                    data_row["domain"],
                    data_row["subdomain"],
                    data_row["category"],
                    data_row["subcategory"],
                )
                if p
            )
            disagreements.append(
                Disagreement(
                    "missing_row",
                    title,
                    "",
                    "",
                    data_row["label"],
                    f"the data label this row {data_row['label']} "
                    f"({data_row['count']}) but the table leaves it out",
                )
            )
    return disagreements


def check_report(disagreements: Iterable[Disagreement], table: UserTable) -> dict:
    listed = [d.to_dict() for d in disagreements]
    return {
        "table": table.path,
        "rows_checked": len(table.rows),
        "consistent": not listed,
        "disagreements": listed,
    }


def _row_key(domain: str, subdomain: str, category: str, subcategory: str, with_subdomain: bool) -> tuple:
    parts = (domain, subdomain, category, subcategory) if with_subdomain else (domain, category, subcategory)
    return tuple(" ".join(p.split()).casefold() for p in parts)


def _resolve_columns(table: UserTable, result: dict) -> dict[str, tuple[str | None, str | None]]:
    """Map each frequency column to (attribute, group) of the analysis; the sample maps to (None, None)."""
    groups = [(c["attribute"], g) for c in result["comparisons"] for g in c["groups"]]
    resolved: dict[str, tuple[str | None, str | None]] = {}
    for column in table.columns:
        if column.is_sample:
            resolved[column.header] = (None, None)
            continue
        matches = [
            (a, g)
            for a, g in groups
            if g.casefold() == (column.group or "").casefold()
            and (column.attribute is None or column.attribute == a)
        ]
        if len(matches) != 1:
            known = ", ".join(f"{a}={g}" for a, g in groups) or "none; add --compare ATTR"
            why = "matches no compared subgroup" if not matches else "is ambiguous; write ATTR=VALUE"
            raise InputError(
                f"column {column.header!r} {why} (subgroups: {known})", table.path, table.header_line
            )
        resolved[column.header] = matches[0]
    return resolved


def _size_disagreements(table: UserTable, columns: dict, result: dict) -> Iterable[Disagreement]:
    sizes = {(c["attribute"], g): c["n"][g] for c in result["comparisons"] for g in c["groups"]}
    for column in table.columns:
        if column.n is None:
            continue
        attribute, group = columns[column.header]
        actual = result["n_cases"] if group is None else sizes[(attribute, group)]
        if column.n != actual:
            yield Disagreement(
                "n",
                "(header)",
                column.header,
                str(column.n),
                str(actual),
                f"the header says n = {column.n} but the data have {actual} cases",
                table.header_line,
            )


def _row_disagreements(
    row: TableRow, data_row: dict, columns: dict, result: dict, options: CrossOptions
) -> Iterable[Disagreement]:
    stated_counts: dict[tuple, int] = {}
    for header, cell in row.cells.items():
        attribute, group = columns[header]
        expected = _expected(data_row, attribute, group, result)
        count = cell.count if cell.count is not None else expected.count
        stated_counts[(attribute, group)] = count
        if cell.count is not None and cell.count != expected.count:
            yield Disagreement(
                "count",
                row.title,
                header,
                str(cell.count),
                str(expected.count),
                f"the data have {expected.count} case(s), the table {cell.count}",
                row.line,
            )
        if count > expected.n:
            continue
        rule_label = _rule_label(data_row, count, expected.n, group is None, options.profile)
        if cell.label != rule_label:
            yield Disagreement(
                "label",
                row.title,
                header,
                cell.label or "(none)",
                rule_label or "(none)",
                f"{count} of {expected.n} is {rule_label or 'unlabelled'} by the rules, "
                f"not {cell.label or 'unlabelled'}",
                row.line,
            )
    yield from _star_disagreements(row, data_row, columns, result, stated_counts, options)


def _expected(data_row: dict, attribute: str | None, group: str | None, result: dict) -> _Expected:
    if group is None:
        return _Expected(result["n_cases"], data_row["count"])
    block = data_row["compare"][attribute][group]
    return _Expected(block["n"], block["count"])


def _rule_label(data_row: dict, k: int, n: int, is_sample: bool, profile: Profile) -> str:
    if data_row["other"]:
        return ""
    if is_sample:
        return shown_label(profile.label(k, n))
    return shown_label(label_subgroup(k, n)) if data_row["count"] >= 2 else ""


def _star_disagreements(
    row: TableRow,
    data_row: dict,
    columns: dict,
    result: dict,
    stated_counts: dict[tuple, int],
    options: CrossOptions,
) -> Iterable[Disagreement]:
    for comparison in result["comparisons"]:
        attribute, (group_a, group_b) = comparison["attribute"], comparison["groups"]
        headers = {columns[h][1]: h for h in row.cells if columns[h][0] == attribute}
        if not headers:
            continue
        block = data_row["compare"][attribute]
        k_a = stated_counts.get((attribute, group_a), block[group_a]["count"])
        k_b = stated_counts.get((attribute, group_b), block[group_b]["count"])
        n_a, n_b = block[group_a]["n"], block[group_b]["n"]
        if k_a > n_a or k_b > n_b:
            continue
        if not block["compared"]:
            differs = False
        elif options.difference_rule == "two_categories":
            differs = two_categories_apart(label_subgroup(k_a, n_a), label_subgroup(k_b, n_b))
        else:
            differs = meaningful(k_a, n_a, k_b, n_b, options.meaningful)
        higher = group_a if k_a * n_b > k_b * n_a else group_b
        starred = {g for g, h in headers.items() if row.cells[h].star}
        wanted = {higher} if differs and higher in headers else set()
        if starred == wanted or (differs and not wanted and not starred):
            continue
        column = ", ".join(headers[g] for g in sorted(starred ^ wanted, key=str))
        share = f"{k_a}/{n_a} vs {k_b}/{n_b}"
        if differs and not starred:
            message = f"{share} is a meaningful difference: mark {higher} with *"
        elif not differs:
            message = f"{share} is not a meaningful difference: drop the *"
        else:
            message = f"{share}: the * belongs on {higher}, the group with the higher share"
        yield Disagreement(
            "meaningful",
            row.title,
            column,
            "*" if starred else "(none)",
            "*" if differs else "(none)",
            message,
            row.line,
        )
