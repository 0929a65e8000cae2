"""The lookups that run per keypress and per exported transcript use an index (query plans, both databases).

PostgreSQL's planner scans a small table whole however it is indexed, so there sequential scans
are switched off for the session: the plan then shows whether an index can serve the lookup.
"""

from __future__ import annotations

import pytest
from alembic import command
from sqlalchemy import inspect, text

from tests.support.stores import build_store
from transcode.store import db

#: (query, the index its plan must use)
LOOKUPS = [
    ("SELECT id, case_id FROM thought_unit WHERE key = '01-0003'", "ix_thought_unit_key"),
    (
        "SELECT id, key FROM thought_unit WHERE transcript_id = 1 ORDER BY position",
        "ix_thought_unit_transcript_id",
    ),
    ("SELECT id FROM transcript WHERE case_id = 1", "ix_transcript_case_id"),
    ("SELECT id FROM thought_unit WHERE turn_id = 2", "ix_thought_unit_turn_id"),
]


def _plan(connection, query: str) -> str:
    if connection.dialect.name == "sqlite":
        rows = connection.execute(text(f"EXPLAIN QUERY PLAN {query}")).all()
        return "\n".join(str(row[-1]) for row in rows)
    connection.execute(text("SET enable_seqscan = off"))
    return "\n".join(row[0] for row in connection.execute(text(f"EXPLAIN {query}")))


@pytest.mark.parametrize(("query", "index"), LOOKUPS)
def test_the_lookup_uses_its_index(db_url, query, index):
    store = build_store(db_url)
    try:
        with store.engine.connect() as connection:
            plan = _plan(connection, query)
        assert index in plan, plan
    finally:
        store.close()


def test_migration_0003_adds_the_indexes_and_takes_them_back(db_url):
    store = build_store(db_url)
    url = store.engine.url.render_as_string(hide_password=False)
    names = {index for _, index in LOOKUPS}

    def indexes() -> set[str]:
        found = inspect(store.engine)
        return {i["name"] for table in ("thought_unit", "transcript") for i in found.get_indexes(table)}

    try:
        assert names <= indexes()
        with store.engine.begin() as connection:
            config = db.alembic_config(url)
            config.attributes["connection"] = connection
            command.downgrade(config, "0003")
        assert not names & indexes()
        db.migrate(store.engine)
        assert names <= indexes() and db.schema_revision(store.engine) == "0004"
    finally:
        store.close()
