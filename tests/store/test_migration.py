"""Migration 0002 brings an existing study into the phases, on SQLite and PostgreSQL.

The store is made at schema 0001 and filled as transcode before this change filled it (SQL on
the 0001 tables): three cases, one with consensus codes; judges A and B (A coded all of case 01,
B half of it and some of 02) and an auditor. Opening it migrates it.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from alembic import command
from sqlalchemy import create_engine, text

from transcode.coding import phases
from transcode.coding.independent import CodingSession
from transcode.errors import PhaseError
from transcode.store import db, open_store, security


def old_store(url: str) -> None:
    engine = create_engine(url)
    with engine.begin() as connection:
        config = db.alembic_config(url)
        config.attributes["connection"] = connection
        command.upgrade(config, "0001")

        def insert(table: str, **values) -> None:
            columns = ", ".join(f'"{c}"' for c in values)
            connection.execute(
                text(f"INSERT INTO {table} ({columns}) VALUES ({', '.join(':' + c for c in values)})"), values
            )

        now = datetime(2026, 1, 1, 10, tzinfo=UTC)
        insert("project", id=1, name="old study", created_at=now)
        book = {"name": "b", "domains": [{"id": "a", "name": "A"}, {"id": "b", "name": "B"}]}
        insert(
            "codebook",
            id=1,
            project_id=1,
            version=1,
            name="b",
            fingerprint="f",
            body=json.dumps(book),
            created_at=now,
        )
        unit_id = 0
        for case_id, case in enumerate(("01", "02", "03"), start=1):
            insert("case_", id=case_id, project_id=1, key=case, attributes="{}")
            insert(
                "transcript",
                id=case_id,
                case_id=case_id,
                source_name=f"{case}.txt",
                content_hash=f"h{case}",
                metadata="{}",
                deidentified=True,
                created_at=now,
            )
            insert(
                "turn", id=case_id, transcript_id=case_id, number=1, speaker_role="participant", label="P",
                text="One. Two.", line=1,
            )  # fmt: skip
            for position in (1, 2):
                unit_id += 1
                insert(
                    "thought_unit", id=unit_id, case_id=case_id, transcript_id=case_id,
                    turn_id=case_id, key=f"{case}-000{position}", position=position, turn_number=1,
                    start=0, end=4, text="One.",
                )  # fmt: skip
        for judge_id, name, role in ((1, "A", "judge"), (2, "B", "judge"), (3, "Aud", "auditor")):
            insert("judge", id=judge_id, project_id=1, name=name, role=role)
        # A: both units of 01; B: one unit of 01 (then emptied the other) and one of 02
        decisions = [
            (1, 1, "a", "added"), (2, 1, "b", "added"), (1, 2, "a", "added"), (2, 2, "a", "added"),
            (2, 2, "a", "removed"), (3, 2, None, "other"),
        ]  # fmt: skip
        for decision_id, (unit, judge, domain, action) in enumerate(decisions, start=1):
            insert(
                "code_decision", id=decision_id, unit_id=unit, judge_id=judge, domain=domain, action=action,
                created_at=now,
            )  # fmt: skip
        insert("consensus_code", id=1, unit_id=5, domain="a", created_at=now)
        if connection.dialect.name == "postgresql":  # explicit ids above: move the sequences past them
            for table in ("project", "judge", "case_", "code_decision", "consensus_code"):
                connection.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                        f"(SELECT max(id) FROM {table}))"
                    )
                )
    engine.dispose()


def test_an_existing_study_enters_the_phases(db_url):
    old_store(db_url)
    with open_store(db_url) as store:
        assert db.schema_revision(store.engine) == db.head_revision() == "0004"
        # migration 0003: the version given whole has no changes; nothing waits for a recode
        assert [v.changes for v in store.codebook_versions()] == [None]
        assert store.domain_map().retired_ids == frozenset()
        assert store.case_phases() == {"01": "independent", "02": "independent", "03": "consensus"}
        assert [(a.judge, a.case, a.finished) for a in store.assignments()] == [
            ("A", "01", True),
            ("B", "01", False),  # B emptied 01-0002: not finished
            ("B", "02", False),
        ]
        trail = [(e.case, e.kind, e.details["from"], e.details["to"]) for e in store.events()]
        assert trail == [
            ("01", "phase", None, "independent"),
            ("02", "phase", None, "independent"),
            ("03", "phase", None, "consensus"),
        ]
        assert all("migration 0002" in e.details["reason"] for e in store.events())
        assert {d.suggestions_shown for d in store.decision_log()} == {None}  # not recorded back then
        assert {j.name: j.role for j in store.judges()} == {"A": "judge", "B": "judge", "Aud": "auditor"}
        if store.engine.url.get_backend_name() == "postgresql":
            with store.engine.connect() as connection:
                installed = security.policies_installed(connection)
            assert installed == {
                (table, name) for table, name, *_ in (*security.POLICIES, *security.LATER_POLICIES)
            }

        # and the study goes on under the new rules
        store.add_judge("L", "lead")
        with pytest.raises(PhaseError, match="not finished by B"):
            phases.switch(store, ["01"], "consensus", "L")
        session = CodingSession(store, "B", store.codebook(), case="01")
        session.toggle(1)  # B codes the unit left empty: finished
        assert session.finished("01")
        [change] = phases.switch(store, ["01"], "consensus", "L")
        assert change.overridden == ()


def test_the_downgrade_returns_to_0001(db_url):
    old_store(db_url)
    open_store(db_url).close()
    config = db.alembic_config(db_url)
    command.downgrade(config, "0001")
    engine = create_engine(db_url)
    assert db.schema_revision(engine) == "0001"
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM code_decision")).scalar() == 6
    engine.dispose()
    with open_store(db_url) as store:  # and up again
        assert store.case_phases()["03"] == "consensus"
