"""A small read-only Python facade over a project store, returning pandas DataFrames.

    import transcode
    project = transcode.open("sqlite:///study.db")
    project.units().head()
    project.cross_table(compare=["anxiety"])

``codes()`` and ``decisions()`` hold every judge's codes, so they refuse (PhaseError) while a case
holding judges' codes is still in independent coding. The API never writes, so it cannot log a
lead's unlock: a lead who must read them earlier exports with ``transcode export --unlock --by LEAD``.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from transcode.coding import phases
from transcode.exchange import tables
from transcode.store import Store, open_store

_API_HINT = (
    "or a lead exports them with `transcode export --unlock --by LEAD` "
    "(logged; this API only reads, so it cannot log an unlock)"
)


class Project:
    """Read-only tables of one store; each call reads the store afresh. Nothing here writes."""

    def __init__(self, store: Store):
        self._store = store

    def units(self) -> pd.DataFrame:
        """Thought units (case, unit, position, turn, offsets, text, question, case attributes)."""
        return tables.units_table(self._store)

    def codes(self) -> pd.DataFrame:
        """Every judge's current codes: one row per case, unit, judge, role, code (refused while a
        case holding judges' codes is in independent coding)."""
        phases.require_whole_study_open(self._store, "transcode.open().codes()", hint=_API_HINT)
        return tables.codes_table(self._store)

    def decisions(self) -> pd.DataFrame:
        """The full decision log with times, the model version a decision came from and whether
        the suggestions were on the screen (refused while a case holding judges' codes is in
        independent coding)."""
        phases.require_whole_study_open(self._store, "transcode.open().decisions()", hint=_API_HINT)
        return tables.decisions_table(self._store)

    def consensus(self) -> pd.DataFrame:
        """The team's agreed domains: one row per unit and domain."""
        return tables.consensus_table(self._store)

    def core_ideas(self) -> pd.DataFrame:
        return tables.core_ideas_table(self._store)

    def categories(self) -> pd.DataFrame:
        return tables.categories_table(self._store)

    def cross_table(self, compare: Sequence[str] = ()) -> pd.DataFrame:
        """The cross-analysis, one row per (sub)category; ``compare`` adds subgroup columns."""
        return tables.cross_table(self._store, compare)

    def close(self) -> None:
        self._store.close()

    def __enter__(self) -> Project:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def open(db: str) -> Project:  # noqa: A001 - the public name: transcode.open(db)
    """Open an existing store as DataFrames, reading only: the store is never migrated or written.

    InputError when there is no store at ``db``; StoreError when its schema is older than this
    transcode (``transcode init --db URL`` upgrades it).
    """
    return Project(open_store(db, migrate=False))
