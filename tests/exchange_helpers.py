"""A demo store with both judges' codes, shared by the exchange tests."""

from __future__ import annotations

import csv
import sys
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEMO = REPO / "corpora" / "demo"


def build_demo_store(folder: Path, judged_units: int | None = 300) -> str:
    """The demo gold analysis plus judges A and B's codes on the first ``judged_units`` unit x judge pairs."""
    sys.path.insert(0, str(DEMO))
    from load_gold import load_demo

    from transcode.coding.codes import Decision
    from transcode.coding.independent import record_decisions
    from transcode.store import open_store

    db = f"sqlite:///{folder / 'demo.db'}"
    load_demo(db, quiet=True)
    by_unit: dict[tuple[str, str], list[str]] = defaultdict(list)
    with (DEMO / "judges.csv").open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            by_unit[(row["judge"], row["unit"])].append(row["code"])
    store = open_store(db)
    try:
        for (judge, unit), codes in list(by_unit.items())[:judged_units]:
            decisions = [Decision(c, "added") for c in codes if c] or [Decision(None, "other")]
            record_decisions(store, judge, unit, decisions)
    finally:
        store.close()
    return db
