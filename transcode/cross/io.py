"""Read MEMBERSHIPS.csv, CASES.csv, ``--compare`` specs and a user's results table.

Errors name the file and line. CASES.csv is read here for every command that takes one
(``cross``, ``import --cases``); the formats are in docs/formats.md.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

from transcode.cross.analysis import Comparison, Membership
from transcode.cross.consistency import STRUCTURE_COLUMNS, TableRow, UserTable, parse_cell, parse_column
from transcode.errors import InputError
from transcode.files import unquote_spreadsheet_text

MEMBERSHIP_COLUMNS = ("case", "domain", "subdomain", "category")


@dataclass(frozen=True)
class CsvRow:
    line: int
    values: dict[str, str]


@dataclass(frozen=True)
class CsvFile:
    """A CSV's header as written, its line, and rows keyed by lower-cased column name."""

    header: list[str]
    header_line: int
    rows: list[CsvRow]


def read_csv_rows(path: str | Path, required: tuple[str, ...]) -> CsvFile:
    """Read a UTF-8 CSV whose header holds ``required``; every problem is an InputError."""
    where = str(path)
    try:
        text = Path(path).read_bytes().decode("utf-8-sig")
    except FileNotFoundError:
        raise InputError("file not found", where) from None
    except UnicodeDecodeError as err:
        raise InputError(f"not UTF-8 text (byte {err.start})", where) from None
    except OSError as err:
        raise InputError(f"cannot read: {err.strerror}", where) from None
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader, None)
        while header is not None and not any(cell.strip() for cell in header):
            header = next(reader, None)
        if header is None:
            raise InputError("empty file: expected a header row", where)
        header_line = reader.line_num
        header = [unquote_spreadsheet_text(cell.strip()) for cell in header]
        names = [cell.lower() for cell in header]
        missing = [name for name in required if name not in names]
        if missing:
            raise InputError(
                f"missing column(s) {', '.join(missing)} (header: {', '.join(header)})", where, header_line
            )
        duplicated = sorted({name for name in names if name and names.count(name) > 1})
        if duplicated:
            raise InputError(f"column(s) named twice: {', '.join(duplicated)}", where, header_line)
        rows = []
        for cells in reader:
            if not any(cell.strip() for cell in cells):
                continue
            if len(cells) > len(names):
                raise InputError(
                    f"{len(cells)} fields but the header has {len(names)}", where, reader.line_num
                )
            padded = [unquote_spreadsheet_text(cell.strip()) for cell in cells] + [""] * (
                len(names) - len(cells)
            )
            rows.append(CsvRow(reader.line_num, dict(zip(names, padded, strict=True))))
    except csv.Error as err:
        raise InputError(f"malformed CSV: {err}", where, reader.line_num) from None
    return CsvFile(header, header_line, rows)


def read_cases(path: str | Path) -> dict[str, dict[str, str]]:
    """CASES.csv: ``case,ATTR...``, one row per case in the sample (N is the row count).

    Attribute names keep the header's spelling (they are stored and exported as written);
    ``--compare`` matches them case-insensitively.
    """
    table = read_csv_rows(path, ("case",))
    written = {name.lower(): name for name in table.header if name}
    rows = table.rows
    if not rows:
        raise InputError("no cases: the sample needs at least one row", str(path))
    cases: dict[str, dict[str, str]] = {}
    for row in rows:
        case = row.values["case"]
        if not case:
            raise InputError("empty case id", str(path), row.line)
        if case in cases:
            raise InputError(f"case {case!r} is listed twice", str(path), row.line)
        cases[case] = {written[name]: value for name, value in row.values.items() if name != "case" and name}
    return cases


def read_memberships(path: str | Path, cases: dict[str, dict[str, str]] | None = None) -> list[Membership]:
    """MEMBERSHIPS.csv: ``case,domain,subdomain,category[,subcategory]``; duplicates count once later."""
    rows = read_csv_rows(path, MEMBERSHIP_COLUMNS).rows
    if not rows:
        raise InputError("no memberships: expected one row per case and category", str(path))
    memberships = []
    for row in rows:
        values = row.values
        for column in ("case", "domain", "category"):
            if not values[column]:
                raise InputError(f"empty {column}", str(path), row.line)
        if cases is not None and values["case"] not in cases:
            raise InputError(f"case {values['case']!r} is not in the cases file", str(path), row.line)
        memberships.append(
            Membership(
                values["case"],
                values["domain"],
                values["subdomain"],
                values["category"],
                values.get("subcategory", ""),
            )
        )
    return memberships


def parse_compare(spec: str) -> Comparison:
    """``ATTR`` (high vs low) or ``ATTR=A:B``."""
    attribute, sep, values = spec.partition("=")
    attribute = attribute.strip().lower()
    group_a, group_b = "high", "low"
    if sep:
        group_a, colon, group_b = values.partition(":")
        if not colon:
            raise InputError(f"--compare {spec!r}: write ATTR or ATTR=A:B")
    try:
        return Comparison(attribute, group_a.strip(), group_b.strip())
    except ValueError as err:
        raise InputError(f"--compare {spec!r}: {err}") from None


def read_user_table(path: str | Path) -> UserTable:
    """A results table as CSV: domain, [subdomain,] category, [subcategory,] then frequency columns.

    Rows with no category are domain headings; an empty domain (or, on a subcategory
    row, an empty category) repeats the one above, as spreadsheets often leave it.
    """
    table = read_csv_rows(path, ("domain", "category"))
    where = str(path)
    columns = tuple(
        parse_column(name) for name in table.header if name and name.lower() not in STRUCTURE_COLUMNS
    )
    if not columns:
        raise InputError(
            "no frequency column: add e.g. 'Total (N = 14)' with cells like 'T (8)'", where, table.header_line
        )
    parsed = []
    domain = category = ""
    for row in table.rows:
        values = row.values
        domain = values["domain"] or domain
        subcategory = values.get("subcategory", "")
        if values["category"]:
            category = values["category"]
        elif not subcategory:
            continue
        if not domain:
            raise InputError("row has no domain (and none above it)", where, row.line)
        cells = {}
        for column in columns:
            try:
                cells[column.header] = parse_cell(values[column.header.lower()])
            except ValueError as err:
                raise InputError(f"column {column.header!r}: {err}", where, row.line) from None
        parsed.append(TableRow(row.line, domain, values.get("subdomain", ""), category, subcategory, cells))
    if not parsed:
        raise InputError("no category rows in the table", where)
    has_subdomain = "subdomain" in (name.lower() for name in table.header)
    return UserTable(where, table.header_line, columns, tuple(parsed), has_subdomain)
