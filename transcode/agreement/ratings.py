"""Reading judges' ratings: the contract's RATINGS.csv and VALUES.csv, or plain records.

RATINGS.csv (``unit,judge,code``) is long format: one row per code a judge gave
a unit; an empty code means the judge rated the unit and gave no code; a judge
with no row for a unit did not rate it. An optional ``case`` column maps units
to cases. VALUES.csv (``unit,judge,value``) holds one value per unit and judge.

Bad input raises :class:`InputError` naming the file and line, before anything
is computed, so a caller never reports on half-read data.
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from transcode.errors import InputError

RATINGS_COLUMNS = ("unit", "judge", "code")
VALUES_COLUMNS = ("unit", "judge", "value")
NUMERIC_LEVELS = ("ordinal", "interval", "ratio")

#: A unit id such as ``07-0012`` (the contract's precode ids) belongs to case ``07``.
_CASE_PREFIX = re.compile(r"^(?P<case>.+)-[^-]+$")


@dataclass(frozen=True)
class Ratings:
    """Which codes each judge gave each unit; a missing (unit, judge) key = not rated.

    ``units`` keeps coding order (first appearance), which the agreement-over-time
    view relies on.
    """

    units: tuple[str, ...]
    judges: tuple[str, ...]
    codes: Mapping[tuple[str, str], frozenset[str]]
    cases: Mapping[str, str] = field(default_factory=dict)
    source: str | None = None

    @property
    def multi_label(self) -> bool:
        return any(len(given) > 1 for given in self.codes.values())

    @property
    def code_names(self) -> list[str]:
        return sorted({code for given in self.codes.values() for code in given})

    def set_matrix(self, units: Iterable[str] | None = None) -> pd.DataFrame:
        """units x judges of code sets (frozenset, possibly empty) or None when not rated."""
        rows = list(self.units if units is None else units)
        cells = np.empty((len(rows), len(self.judges)), dtype=object)
        for i, unit in enumerate(rows):
            for j, judge in enumerate(self.judges):
                cells[i, j] = self.codes.get((unit, judge))
        return pd.DataFrame(cells, index=rows, columns=list(self.judges), dtype=object)

    def binary_matrix(self, code: str) -> pd.DataFrame:
        """units x judges of True/False (gave ``code`` or not), None when not rated."""
        return self.set_matrix().map(lambda given: None if given is None else code in given)

    def case_of(self) -> dict[str, str]:
        """The unit -> case mapping: given explicitly, else read off ``CASE-NNNN`` unit ids."""
        if self.cases:
            return dict(self.cases)
        matches = {unit: _CASE_PREFIX.match(unit) for unit in self.units}
        if all(matches.values()):
            return {unit: match.group("case") for unit, match in matches.items() if match}
        return {}


def _require_two_judges(judges: Iterable[str], path: str | None) -> None:
    found = list(judges)
    if len(found) < 2:
        who = f" ({found[0]})" if found else ""
        raise InputError(f"agreement needs at least two judges; found {len(found)}{who}", path)


def ratings_from_records(
    records: Iterable[tuple[str, str, str | None]],
    *,
    cases: Mapping[str, str] | None = None,
    source: str | None = None,
    lines: Iterable[int | None] | None = None,
) -> Ratings:
    """Build :class:`Ratings` from ``(unit, judge, code-or-None)`` records.

    ``None`` or ``""`` as code = the judge rated the unit and gave it no code.
    The project store can feed its coding decisions through here, so files and
    store get the same checks and the same report. ``lines`` (parallel to the
    records) lets error messages point at the file line.
    """
    line_iter = iter(lines) if lines is not None else None
    units: dict[str, None] = {}
    judges: dict[str, None] = {}
    given: dict[tuple[str, str], set[str]] = {}
    rated_without_code: dict[tuple[str, str], int | None] = {}
    first_seen: dict[tuple[str, str, str], int | None] = {}
    for record in records:
        line = next(line_iter, None) if line_iter is not None else None
        try:
            unit, judge, code = record
        except (TypeError, ValueError):
            raise InputError(f"a rating needs (unit, judge, code); got {record!r}", source, line) from None
        unit, judge = str(unit or "").strip(), str(judge or "").strip()
        code = "" if code is None else str(code).strip()
        if not unit or not judge:
            raise InputError("a rating needs a unit and a judge", source, line)
        key = (unit, judge, code)
        if key in first_seen:
            earlier = f" (same as line {first_seen[key]})" if first_seen[key] else ""
            raise InputError(
                f"duplicate rating: unit {unit!r}, judge {judge!r}, code {code!r}{earlier}", source, line
            )
        first_seen[key] = line
        units.setdefault(unit)
        judges.setdefault(judge)
        codes = given.setdefault((unit, judge), set())
        if code:
            codes.add(code)
        else:
            rated_without_code[(unit, judge)] = line
        if codes and (unit, judge) in rated_without_code:
            raise InputError(
                f"judge {judge!r} both gave unit {unit!r} no code (empty code row) and code(s) "
                f"{', '.join(sorted(codes))}",
                source,
                line,
            )
    if not given:
        raise InputError("no ratings found", source)
    _require_two_judges(judges, source)
    mapping = dict(cases or {})
    return Ratings(
        units=tuple(units),
        judges=tuple(judges),
        codes={key: frozenset(codes) for key, codes in given.items()},
        cases={unit: mapping[unit] for unit in units if unit in mapping},
        source=source,
    )


def _read_rows(path: Path, required: tuple[str, ...]) -> tuple[list[str], list[tuple[int, dict[str, str]]]]:
    """Header and (line number, row) pairs, checking the columns and row widths."""
    where = str(path)
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except OSError as err:
        raise InputError(f"cannot read file: {err.strerror or err}", where) from None
    except UnicodeDecodeError as err:
        raise InputError(f"not UTF-8 text (byte {err.start})", where) from None
    if not text.strip():
        raise InputError(f"empty file; expected a header {','.join(required)}", where)
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = [name.strip() for name in next(reader)]
        missing = [name for name in required if name not in header]
        if missing:
            hint = ""
            if "value" in header and "code" in missing:
                hint = " (a unit,judge,value file needs --coefficient NAME)"
            elif "code" in header and "value" in missing:
                hint = " (a unit,judge,code file is read without --coefficient)"
            raise InputError(
                f"missing column(s) {', '.join(missing)}; expected header {','.join(required)}, "
                f"got {','.join(header)}{hint}",
                where,
                1,
            )
        duplicates = sorted({name for name in header if header.count(name) > 1 and name})
        if duplicates:
            raise InputError(f"duplicate column(s) {', '.join(duplicates)}", where, 1)
        rows: list[tuple[int, dict[str, str]]] = []
        for cells in reader:
            line = reader.line_num
            if not any(cell.strip() for cell in cells):
                continue
            if len(cells) != len(header):
                raise InputError(f"expected {len(header)} fields, got {len(cells)}", where, line)
            rows.append((line, dict(zip(header, cells, strict=True))))
    except csv.Error as err:
        raise InputError(f"malformed CSV: {err}", where, reader.line_num) from None
    if not rows:
        raise InputError("no rows after the header", where)
    return header, rows


def read_ratings_csv(path: str | Path) -> Ratings:
    """Read the contract's RATINGS.csv (``unit,judge,code`` plus an optional ``case``)."""
    path = Path(path)
    header, rows = _read_rows(path, RATINGS_COLUMNS)
    cases: dict[str, str] = {}
    if "case" in header:
        for line, row in rows:
            unit, case = row["unit"].strip(), row["case"].strip()
            if not case:
                continue
            if cases.setdefault(unit, case) != case:
                raise InputError(f"unit {unit!r} is in case {cases[unit]!r} and {case!r}", str(path), line)
    return ratings_from_records(
        ((row["unit"], row["judge"], row["code"]) for _, row in rows),
        cases=cases,
        source=str(path),
        lines=(line for line, _ in rows),
    )


@dataclass(frozen=True)
class Values:
    """VALUES.csv as a units x judges matrix (None = not rated)."""

    matrix: pd.DataFrame
    level: str
    source: str | None = None

    @property
    def n_units(self) -> int:
        return int(self.matrix.shape[0])

    @property
    def n_judges(self) -> int:
        return int(self.matrix.shape[1])


def _as_number(text: str, level: str, where: str, line: int) -> float:
    try:
        number = float(text)
    except ValueError:
        raise InputError(f"{level} level needs numeric values; got {text!r}", where, line) from None
    if not math.isfinite(number):
        raise InputError(f"{level} level needs finite numbers; got {text!r}", where, line)
    return number


def read_values_csv(path: str | Path, level: str = "nominal") -> Values:
    """Read VALUES.csv (``unit,judge,value``); an empty value counts as not rated.

    Ordinal, interval and ratio levels need numbers (ordinal uses their order).
    """
    path = Path(path)
    where = str(path)
    _, rows = _read_rows(path, VALUES_COLUMNS)
    seen: dict[tuple[str, str], tuple[str, int]] = {}
    cells: dict[tuple[str, str], object] = {}
    units: dict[str, None] = {}
    judges: dict[str, None] = {}
    for line, row in rows:
        unit, judge, text = row["unit"].strip(), row["judge"].strip(), row["value"].strip()
        if not unit or not judge:
            raise InputError("a value needs a unit and a judge", where, line)
        key = (unit, judge)
        if key in seen:
            earlier, earlier_line = seen[key]
            if earlier == text:
                raise InputError(
                    f"duplicate row for unit {unit!r}, judge {judge!r} (same as line {earlier_line})",
                    where,
                    line,
                )
            raise InputError(
                f"unit {unit!r}, judge {judge!r} has two values: {earlier!r} "
                f"(line {earlier_line}) and {text!r}",
                where,
                line,
            )
        seen[key] = (text, line)
        units.setdefault(unit)
        judges.setdefault(judge)
        if text:
            cells[key] = _as_number(text, level, where, line) if level in NUMERIC_LEVELS else text
    _require_two_judges(judges, where)
    if not cells:
        raise InputError("every value is empty", where)
    matrix = np.empty((len(units), len(judges)), dtype=object)
    for i, unit in enumerate(units):
        for j, judge in enumerate(judges):
            matrix[i, j] = cells.get((unit, judge))
    return Values(pd.DataFrame(matrix, index=list(units), columns=list(judges), dtype=object), level, where)
