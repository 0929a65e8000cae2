"""PostgreSQL row-level security with real roles: each judge's own connection reads only their own
codes while a case is in independent coding, whatever SQL it sends.

Needs a server (TRANSCODE_TEST_POSTGRES, see .ci/run) whose role may create roles (CREATEROLE):
the test makes two judges' and a lead's LOGIN roles, connects as each, and drops them after.
"""

from __future__ import annotations

import os
import uuid

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from tests.conftest import POSTGRES_ADMIN_URL, drop_database
from tests.support.stores import LEAD, build_store
from transcode.coding import people, phases
from transcode.coding.codes import Decision
from transcode.coding.independent import CodingSession, judge_codes, record_decisions
from transcode.errors import InputError, PhaseError, StoreError
from transcode.store import open_store, security

PASSWORD = "rls-test-password"


@pytest.fixture()
def team():
    """A fresh database with the coding room's store, and LOGIN roles for ana, ben (judges) and lea
    (lead), registered with their roles; yields a function opening the store as one of them."""
    if not POSTGRES_ADMIN_URL:
        if os.environ.get("CI"):
            pytest.fail("CI must test PostgreSQL: TRANSCODE_TEST_POSTGRES is not set")
        pytest.skip("no PostgreSQL server (set TRANSCODE_TEST_POSTGRES)")
    suffix = uuid.uuid4().hex[:8]
    database = f"transcode_rls_{suffix}"
    roles = {name: f"{name}_{suffix}" for name in ("ana", "ben", "lea")}
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        can_create_roles = connection.execute(
            text("SELECT rolcreaterole OR rolsuper FROM pg_roles WHERE rolname = current_user")
        ).scalar()
        if not can_create_roles:
            pytest.fail("the test server's role needs CREATEROLE to make the judges' roles (see .ci/run)")
        connection.execute(text(f'CREATE DATABASE "{database}"'))
        for role in roles.values():
            connection.execute(text(f"CREATE ROLE \"{role}\" LOGIN PASSWORD '{PASSWORD}'"))
            # membership lets the teardown end the role's sessions (DROP DATABASE ... WITH (FORCE))
            connection.execute(text(f'GRANT "{role}" TO CURRENT_USER'))
    owner_url = make_url(POSTGRES_ADMIN_URL).set(database=database)
    stores = []

    def as_role(name: str | None):
        url = owner_url if name is None else owner_url.set(username=roles[name], password=PASSWORD)
        store = open_store(url.render_as_string(hide_password=False))
        stores.append(store)
        return store

    try:
        owner = build_store(owner_url.render_as_string(hide_password=False))
        stores.append(owner)
        for name, role in (("ana", "judge"), ("ben", "judge"), ("lea", "lead")):
            people.add_person(owner, name, role, roles[name])
        people.assign(owner, ["ana", "ben"], None, LEAD)
        yield owner, as_role, roles
    finally:
        for store in stores:
            store.close()
        drop_database(admin, database)
        with admin.connect() as connection:
            for role in roles.values():
                connection.execute(text(f'DROP ROLE IF EXISTS "{role}"'))
        admin.dispose()


def raw(store, sql: str, **params):
    with store.engine.begin() as connection:
        return connection.execute(text(sql), params)


def test_init_installs_the_policies(team):
    owner, _, _ = team
    with owner.engine.connect() as connection:
        installed = security.policies_installed(connection)
        enabled = dict(
            connection.execute(
                text(
                    "SELECT relname, relrowsecurity FROM pg_class WHERE relname IN ('code_decision', 'event')"
                )
            ).all()
        )
    assert installed == {(table, name) for table, name, *_ in (*security.POLICIES, *security.LATER_POLICIES)}
    assert enabled == {"code_decision": True, "event": True}


def test_each_judge_reads_only_their_own_codes_until_consensus(team):
    owner, as_role, roles = team
    ana, ben, lea = as_role("ana"), as_role("ben"), as_role("lea")
    for key in ("01-0001", "01-0002", "02-0001"):
        record_decisions(ana, "ana", key, [Decision("client_context", "added")])
        record_decisions(ben, "ben", key, [Decision("antecedents", "added")])

    # Through transcode and through plain SQL alike: ana's connection holds ana's rows only.
    assert {d.judge for d in ana.decision_log()} == {"ana"}
    assert raw(ana, "SELECT count(*) FROM code_decision").scalar() == 3
    assert raw(ana, "SELECT count(*) FROM code_decision d JOIN judge j ON j.id = d.judge_id "
               "WHERE j.name = 'ben'").scalar() == 0  # fmt: skip
    assert judge_codes(ana, "ben") == {}
    assert raw(owner, "SELECT count(*) FROM code_decision").scalar() == 6  # the owner is not bound
    with pytest.raises(PhaseError, match="would show one judge's codes"):
        phases.require_whole_study_open(ana, "export --format csv")  # her own codes are there
    with pytest.raises(PhaseError, match="ana's database role"):
        CodingSession(ana, "ben", ana.codebook())  # a connection is one person
    assert lea.status().coded == 0

    # The lead opens consensus for case 01 from her own connection; the trail names her and her role.
    with pytest.raises(PhaseError, match="needs the study owner's connection"):
        phases.reading_scope(lea, unlock_by="lea", command="agree --db")
    phases.switch(lea, ["01"], "consensus", "lea", override=True, reason="test")
    [event] = owner.events(case="01", kind="phase")[-1:]
    assert (event.actor, event.db_user, event.details["to"]) == ("lea", roles["lea"], "consensus")

    opened = ana.decision_log()
    assert {(d.judge, d.case) for d in opened} == {("ana", "01"), ("ben", "01"), ("ana", "02")}
    assert raw(ana, "SELECT count(*) FROM code_decision").scalar() == 5  # ben's case-02 row stays hidden
    assert judge_codes(ana, "ben") == {"01-0001": {"antecedents"}, "01-0002": {"antecedents"}}


def test_the_database_refuses_what_the_policies_forbid(team):
    owner, as_role, _ = team
    ana, ben = as_role("ana"), as_role("ben")
    record_decisions(ana, "ana", "01-0001", [Decision("client_context", "added")])
    record_decisions(ben, "ben", "01-0001", [Decision("antecedents", "added")])
    ids = dict(raw(owner, "SELECT name, id FROM judge").all())
    unit = raw(owner, "SELECT id FROM thought_unit WHERE key = '01-0002'").scalar()

    forbidden = [
        # a decision in another judge's name
        (
            f"INSERT INTO code_decision (unit_id, judge_id, domain, action, created_at) "
            f"VALUES ({unit}, {ids['ben']}, 'supervision', 'added', now())"
        ),  # fmt: skip
        # changing or removing what was decided
        "UPDATE code_decision SET domain = 'supervision'",
        "DELETE FROM code_decision",
        # moving a phase (leads only) and rewriting the trail
        "UPDATE case_ SET phase = 'consensus'",
        "DELETE FROM event",
        f"INSERT INTO event (project_id, created_at, actor_id, kind, details) "
        f"VALUES (1, now(), {ids['lea']}, 'phase', '{{}}')",
        # registering people
        "INSERT INTO judge (project_id, name, role) VALUES (1, 'mallory', 'lead')",
    ]
    for sql in forbidden:
        with pytest.raises(StoreError, match="no permission to write"):
            raw(ana, sql)
    # ben's assignment is not ana's to mark finished: the update finds no row she may change
    assert raw(ana, f"UPDATE assignment SET finished_at = now() WHERE judge_id = {ids['ben']}").rowcount == 0
    assert raw(ana, f"UPDATE assignment SET finished_at = now() WHERE judge_id = {ids['ana']}").rowcount == 2
    assert [d.judge for d in owner.decision_log()] == ["ana", "ben"]  # nothing changed

    # once case 01 is in consensus, nobody appends independent decisions to it, even in SQL
    phases.switch(owner, ["01"], "consensus", LEAD, override=True)
    with pytest.raises(PhaseError, match="independent coding is over"):
        record_decisions(ana, "ana", "01-0002", [Decision("supervision", "added")])
    with pytest.raises(StoreError, match="no permission to write"):
        raw(
            ana,
            "INSERT INTO code_decision (unit_id, judge_id, domain, action, created_at) "
            f"VALUES ({unit}, {ids['ana']}, 'supervision', 'added', now())",
        )


def test_registering_a_person_checks_their_database_role(team, tmp_path):
    owner, _, _ = team
    with pytest.raises(InputError, match="PostgreSQL has no role 'nobody_here'"):
        people.add_person(owner, "nobody", "judge", "nobody_here")
    assert owner.judge_role("nobody") is None  # nothing half-written
    sqlite = build_store(f"sqlite:///{tmp_path / 'file.db'}")
    with pytest.raises(InputError, match="whoever can read the file reads everything"):
        people.add_person(sqlite, "ana", "judge", "ana")
    sqlite.close()


def test_the_recode_queue_is_blind_and_a_codebook_apply_needs_the_owner(team):
    """After a split each judge's role reads only their own units to recode; a lead's own role,
    which cannot see every judge's codes, may not apply a codebook (it could not count them)."""
    import yaml

    from tests.support import DEMO
    from transcode.codebook import parse_codebook
    from transcode.codebook_changes import parse_operations
    from transcode.coding import codebook_ops

    owner, as_role, _ = team
    record_decisions(as_role("ana"), "ana", "01-0004", [Decision("antecedents", "added")])
    record_decisions(as_role("ben"), "ben", "01-0005", [Decision("antecedents", "added")])
    book = yaml.safe_load((DEMO / "codebook.yaml").read_text(encoding="utf-8"))
    book["domains"] = [d for d in book["domains"] if d["id"] != "antecedents"]
    book["domains"] += [{"id": "in_session", "name": "In session"}, {"id": "outside", "name": "Outside"}]
    new = parse_codebook(book, "new.yaml")
    split = parse_operations(splits=["antecedents=in_session,outside"])
    people.add_person(owner, "lee", "lead")
    with pytest.raises(PhaseError, match="lea's database role, which cannot see every judge's codes"):
        codebook_ops.apply(as_role("lea"), new, split, "lea")
    assert owner.codebook_version() == 1
    codebook_ops.apply(owner, new, split, "lee")
    assert raw(owner, "SELECT count(*) FROM codebook_recode").scalar() == 2
    for name, unit in (("ana", "01-0004"), ("ben", "01-0005")):
        store = as_role(name)
        assert raw(store, "SELECT count(*) FROM codebook_recode").scalar() == 1
        assert [r.unit for r in codebook_ops.pending_recodes(store, name)] == [unit]
