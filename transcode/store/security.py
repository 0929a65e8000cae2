"""Row-level security on PostgreSQL: the database, not only transcode, keeps independent coding blind.

Each person of a team connects as their own PostgreSQL role (``judge.db_role``). The study's
owner (who ran ``transcode init``) owns the tables and is not bound by the policies; every
other role is:

- ``code_decision``: a role reads its own person's decisions, and everyone's only in cases past
  ``independent``; it appends decisions only as its own person and only while the case is
  ``independent``; nobody but the owner can change or delete one;
- ``assignment``: everyone reads who is assigned and who has finished; a person marks only their
  own assignment finished; leads assign;
- ``event``: everyone reads the trail; a role appends events only as its own person; nobody but
  the owner can change or delete one;
- ``codebook_recode``: a role reads its own person's units to recode, and everyone's past
  ``independent``;
- ``case_.phase`` and the study settings can be changed by leads only (column and table grants).

:func:`install_policies` runs at ``transcode init``; :func:`grant_person` when a person with a
database role is registered (``transcode judges add NAME --db-role ROLE``).
"""

from __future__ import annotations

from sqlalchemy import Connection, text

from transcode.errors import InputError

#: The judge rows of the connected role: the person this connection is.
_OWN_JUDGE = "(SELECT j.id FROM judge j WHERE j.db_role = current_user)"


def _unit_phase(test: str) -> str:
    return (
        "EXISTS (SELECT 1 FROM thought_unit u JOIN case_ c ON c.id = u.case_id "
        f"WHERE u.id = code_decision.unit_id AND c.phase {test})"
    )


_OWN_ROWS = f"judge_id IN {_OWN_JUDGE}"
_OPENED = _unit_phase("<> 'independent'")
_STILL_INDEPENDENT = _unit_phase("= 'independent'")

#: (table, policy, command, USING, WITH CHECK)
POLICIES: tuple[tuple[str, str, str, str | None, str | None], ...] = (
    (
        "code_decision",
        "transcode_read_own_or_opened",
        "SELECT",
        f"judge_id IN {_OWN_JUDGE} OR {_OPENED}",
        None,
    ),
    (
        "code_decision",
        "transcode_append_own_while_independent",
        "INSERT",
        None,
        f"judge_id IN {_OWN_JUDGE} AND {_STILL_INDEPENDENT}",
    ),
    ("assignment", "transcode_read", "SELECT", "true", None),
    ("assignment", "transcode_own_progress", "UPDATE", _OWN_ROWS, _OWN_ROWS),
    ("assignment", "transcode_assign", "INSERT", None, "true"),
    ("assignment", "transcode_unassign", "DELETE", "true", None),
    ("event", "transcode_read", "SELECT", "true", None),
    ("event", "transcode_append_own", "INSERT", None, f"actor_id IN {_OWN_JUDGE}"),
)

#: Policies on tables later migrations added (installed where the table exists: migration 0002
#: installs :data:`POLICIES` on a schema that does not have them yet).
LATER_POLICIES: tuple[tuple[str, str, str, str | None, str | None], ...] = (
    (
        "codebook_recode",
        "transcode_read_own_or_opened",
        "SELECT",
        f"judge_id IN {_OWN_JUDGE} OR EXISTS (SELECT 1 FROM thought_unit u JOIN case_ c ON c.id = u.case_id "
        "WHERE u.id = codebook_recode.unit_id AND c.phase <> 'independent')",
        None,
    ),
)

#: Tables every person of the team may change (the workflow's rules are kept by transcode).
TEAM_WRITES = (
    "proposal",
    "consensus_code",
    "core_idea",
    "core_idea_unit",
    "category",
    "core_idea_category",
    "audit_comment",
)


def is_postgres(connection: Connection) -> bool:
    return connection.dialect.name == "postgresql"


def install_policies(connection: Connection) -> None:
    """Enable row-level security and (re)create transcode's policies; idempotent. PostgreSQL only."""
    present = {
        table
        for table, *_ in LATER_POLICIES
        if connection.execute(text("SELECT to_regclass(:t)"), {"t": table}).scalar() is not None
    }
    policies = [*POLICIES, *(p for p in LATER_POLICIES if p[0] in present)]
    for table in sorted({table for table, *_ in policies}):
        connection.execute(text(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY"))
    for table, name, command, using, check in policies:
        connection.execute(text(f"DROP POLICY IF EXISTS {name} ON {table}"))
        clauses = f" USING ({using})" if using else ""
        clauses += f" WITH CHECK ({check})" if check else ""
        connection.execute(text(f"CREATE POLICY {name} ON {table} FOR {command}{clauses}"))


def policies_installed(connection: Connection) -> set[tuple[str, str]]:
    """The (table, policy) pairs of transcode's policies present in the database."""
    rows = connection.execute(
        text("SELECT tablename, policyname FROM pg_policies WHERE policyname LIKE 'transcode_%'")
    )
    return {(table, name) for table, name in rows}


def role_exists(connection: Connection, role: str) -> bool:
    found = connection.execute(text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": role}).first()
    return found is not None


def grant_person(connection: Connection, db_role: str, *, lead: bool) -> None:
    """Give a person's database role what their work needs, and nothing the policies do not allow."""
    if not role_exists(connection, db_role):
        raise InputError(
            f"PostgreSQL has no role {db_role!r}: the database administrator creates it first "
            f"(CREATE ROLE {db_role} LOGIN PASSWORD '...'), then run this again"
        )
    role = connection.dialect.identifier_preparer.quote_identifier(db_role)
    schema = connection.dialect.identifier_preparer.quote_identifier(
        str(connection.execute(text("SELECT current_schema()")).scalar_one())
    )
    statements = [
        f"GRANT USAGE ON SCHEMA {schema} TO {role}",
        f"GRANT SELECT ON ALL TABLES IN SCHEMA {schema} TO {role}",
        f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {schema} TO {role}",
        f"GRANT INSERT ON code_decision, event TO {role}",
        f"GRANT UPDATE (finished_at) ON assignment TO {role}",
        f"GRANT INSERT, UPDATE, DELETE ON {', '.join(TEAM_WRITES)} TO {role}",
    ]
    if lead:
        statements += [
            f"GRANT UPDATE (phase) ON case_ TO {role}",
            f"GRANT INSERT, DELETE ON assignment TO {role}",
            f"GRANT INSERT, UPDATE ON study_setting TO {role}",
        ]
    for statement in statements:
        connection.execute(text(statement))
