"""CASES.csv (``case,ATTR...``): case attributes for subgroup comparisons."""

from __future__ import annotations

import csv
from pathlib import Path

from transcode.errors import InputError


def read_cases_csv(path: str | Path) -> dict[str, dict[str, str]]:
    path = Path(path)
    if not path.is_file():
        raise InputError("cases file not found", str(path))
    with open(path, newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh)
        if not reader.fieldnames or reader.fieldnames[0].strip().lower() != "case":
            raise InputError("first column must be 'case'", str(path), 1)
        out: dict[str, dict[str, str]] = {}
        for row in reader:
            key = (row.pop(reader.fieldnames[0]) or "").strip()
            if not key:
                raise InputError("empty case id", str(path), reader.line_num)
            if key in out:
                raise InputError(f"case {key!r} listed twice", str(path), reader.line_num)
            out[key] = {k.strip(): (v or "").strip() for k, v in row.items() if k}
    return out
