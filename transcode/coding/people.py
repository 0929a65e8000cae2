"""The people of a study: judges, auditors and leads, who codes which case, and who is who.

A name given with ``--judge`` or ``--by`` must belong to a registered person with a role that
may do what is asked. On PostgreSQL, where each person connects as their own database role,
a connection that is one person's cannot act as another: the name must be the connection's own.
"""

from __future__ import annotations

from collections.abc import Sequence

from transcode.errors import InputError, PhaseError
from transcode.store import Store
from transcode.store.repo import JUDGE_ROLES, JudgeRecord

ROLES = JUDGE_ROLES
#: Roles that code units independently (a lead may code too).
CODING_ROLES = ("judge", "lead")
LEAD = ("lead",)


def add_person(store: Store, name: str, role: str, db_role: str | None = None) -> JudgeRecord:
    """Register a person; on PostgreSQL ``db_role`` is the role they connect as (granted here)."""
    name = (name or "").strip()
    if not name or any(ch.isspace() for ch in name):
        raise InputError(f"a person's name is one word without spaces, not {name!r}")
    store.add_judge(name, role, db_role or None)
    return JudgeRecord(name, role, db_role or None)


def require(store: Store, name: str | None, roles: Sequence[str] = ROLES, *, doing: str) -> str:
    """The role of the registered person ``name`` if it may do ``doing``; refused otherwise."""
    name = (name or "").strip()
    if not name:
        option = "--by LEAD" if tuple(roles) == LEAD else "--judge NAME"
        raise InputError(f"{doing} needs the person doing it: {option}")
    role = store.judge_role(name)
    if role is None:
        raise InputError(
            f"{name!r} is not a registered person of this study; "
            f"a study owner adds them with `transcode judges add {name} --role judge|auditor|lead`"
        )
    if role not in roles:
        raise PhaseError(
            f"{name} is {with_article(role)}; {doing} needs {' or '.join(with_article(r) for r in roles)}"
        )
    connected = store.connected_judge()
    if connected is not None and connected != name:
        raise PhaseError(
            f"this connection is {connected}'s database role ({store.db_user()}); it cannot act as {name}"
        )
    return role


def assign(store: Store, judges: Sequence[str], cases: Sequence[str] | None, by: str) -> int:
    """A lead assigns judges (or leads who code) to cases, every case when ``cases`` is None."""
    require(store, by, LEAD, doing="assigning judges")
    for name in judges:
        require_coder(store, name)
    return store.assign(judges, _cases(store, cases), by)


def unassign(store: Store, judges: Sequence[str], cases: Sequence[str] | None, by: str) -> int:
    require(store, by, LEAD, doing="unassigning judges")
    return store.unassign(judges, _cases(store, cases), by)


def require_coder(store: Store, name: str) -> None:
    role = store.judge_role(name)
    if role is None:
        require(store, name, doing="coding")
    if role not in CODING_ROLES:
        raise PhaseError(
            f"{name} is {with_article(role or '')}; only judges and leads code units (auditors: --audit)"
        )


def _cases(store: Store, cases: Sequence[str] | None) -> list[str]:
    known = list(store.case_phases())
    if not cases:
        if not known:
            raise InputError("the store holds no cases yet; import transcripts first")
        return known
    missing = [c for c in cases if c not in known]
    if missing:
        raise InputError(f"no case {missing[0]!r} in the store")
    return list(dict.fromkeys(cases))


def with_article(role: str) -> str:
    return f"an {role}" if role[:1] in "aeiou" else f"a {role}"
