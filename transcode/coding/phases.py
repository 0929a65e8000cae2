"""Study phases per case, and the rule they keep: no judge reads another's codes before consensus.

A case moves ``independent`` -> ``consensus`` -> ``audit`` -> ``closed``, one step at a time, by a
lead; each move is an event in the trail. Opening consensus needs every judge assigned to the case
to have finished it. Anything else (a case nobody finished, a skipped or backward step) needs the
lead's ``--override``, which the event records with what it overrode.

What each phase allows:

============  ===================================================================================
independent   judges code; each reads only their own codes. Every reader of all judges' codes
              leaves the case out (agreement, the consensus view) or refuses (exports, the API)
consensus     judges' codes are open to the team; the consensus view records the team's codes
audit         as consensus; auditors comment (the audit screen), the team may still revise
closed        read only
============  ===================================================================================

A lead may lift the rule for one command with ``--unlock``: that is logged as an ``unlock`` event
naming the command and the cases it opened. On PostgreSQL row-level security keeps the rule in the
database itself (:mod:`transcode.store.security`); there an unlock needs the study owner's
connection, since a judge's role cannot read other judges' rows at all.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

from transcode.coding import people
from transcode.errors import InputError, PhaseError
from transcode.store import Store
from transcode.store.schema import PHASES

INDEPENDENT, CONSENSUS, AUDIT, CLOSED = PHASES
#: Phases in which the judges' codes of a case are open to the whole team.
OPENED = (CONSENSUS, AUDIT, CLOSED)
#: Phases in which the team may record consensus codes.
RECORDING = (CONSENSUS, AUDIT)


@dataclass(frozen=True)
class PhaseChange:
    case: str
    before: str
    after: str
    overridden: tuple[str, ...] = ()  # what the lead's --override set aside, if anything

    def as_dict(self) -> dict:
        return {"case": self.case, "from": self.before, "to": self.after, "overridden": list(self.overridden)}


@dataclass(frozen=True)
class Scope:
    """The cases whose judges' codes a command may read, and the independent ones it leaves out."""

    cases: tuple[str, ...]
    withheld: tuple[str, ...] = ()
    unlocked: tuple[str, ...] = field(default=())

    def note(self) -> str | None:
        """One line saying what was left out, for stderr; None when nothing was."""
        if not self.withheld:
            return None
        return (
            f"left out: {_cases_text(self.withheld)} still in independent coding "
            "(their codes are read once a lead opens consensus: `transcode phase CASE consensus --by LEAD`)"
        )


def check_phase(phase: str) -> str:
    if phase not in PHASES:
        raise InputError(f"phase must be one of {', '.join(PHASES)}, not {phase!r}")
    return phase


def switch(
    store: Store,
    cases: Sequence[str] | None,
    phase: str,
    by: str,
    *,
    override: bool = False,
    reason: str | None = None,
) -> list[PhaseChange]:
    """Move ``cases`` (every case when None) to ``phase``; all of them or none. Returns the changes.

    Cases already in ``phase`` are left as they are (naming one such case alone is refused).
    """
    check_phase(phase)
    people.require(store, by, people.LEAD, doing="switching phases")
    current = store.case_phases()
    if not current:
        raise InputError("the store holds no cases yet; import transcripts first")
    targets = list(dict.fromkeys(cases)) if cases else list(current)
    missing = [c for c in targets if c not in current]
    if missing:
        raise InputError(f"no case {missing[0]!r} in the store")
    if cases and len(targets) == 1 and current[targets[0]] == phase:
        raise PhaseError(f"case {targets[0]} is already in {phase}")
    assigned: dict[str, list[tuple[str, bool]]] = defaultdict(list)
    for a in store.assignments():
        assigned[a.case].append((a.judge, a.finished))
    changes = []
    for case in targets:
        before = current[case]
        if before == phase:
            continue
        problems: list[str] = []
        if PHASES.index(phase) != PHASES.index(before) + 1:
            problems.append(f"{before} -> {phase} is not the next phase")
        if before == INDEPENDENT:
            if not assigned[case]:
                problems.append("no judge is assigned to it")
            unfinished = [judge for judge, finished in assigned[case] if not finished]
            if unfinished:
                problems.append(f"not finished by {', '.join(unfinished)}")
        changes.append(PhaseChange(case, before, phase, tuple(problems)))
    blocked = [c for c in changes if c.overridden]
    if blocked and not override:
        listed = "; ".join(f"case {c.case}: {', '.join(c.overridden)}" for c in blocked)
        raise PhaseError(f"{listed} (a lead may go ahead with --override, which the trail records)")
    if changes:
        store.set_phases(
            {
                c.case: (
                    phase,
                    {
                        "from": c.before,
                        "to": c.after,
                        "override": bool(c.overridden),
                        "overridden": list(c.overridden),
                        "reason": reason,
                    },
                )
                for c in changes
            },
            by,
        )
    return changes


def enter_phases(store: Store, reason: str) -> list[str]:
    """Put the cases of a store filled by an import where the rule for existing studies puts them:
    those holding consensus codes in ``consensus`` (the others stay ``independent``). Logged."""
    current = store.case_phases()
    agreed = [c for c in store.cases_with_consensus() if current.get(c) == INDEPENDENT]
    if agreed:
        details = {
            "from": INDEPENDENT,
            "to": CONSENSUS,
            "override": False,
            "overridden": [],
            "reason": reason,
        }
        store.set_phases({case: (CONSENSUS, details) for case in agreed}, None)
    return agreed


def unlock(store: Store, by: str | None, command: str, cases: Sequence[str]) -> None:
    """A lead lifts the phase rule for one command; the trail records who, which command, which cases."""
    people.require(store, by, people.LEAD, doing="--unlock")
    if store.connected_judge() is not None:
        raise PhaseError(
            f"--unlock needs the study owner's connection: on PostgreSQL the role {store.db_user()} "
            "reads only its own codes in cases still in independent coding"
        )
    store.add_event("unlock", by, {"command": command, "cases": list(cases)})


def reading_scope(
    store: Store, cases: Sequence[str] | None = None, *, unlock_by: str | None = None, command: str
) -> Scope:
    """The cases a report on every judge's codes (``agree --db``, calibration) may read.

    By default the cases past independent coding, leaving the others out; a case asked for by
    name that is still independent is refused; ``unlock_by`` (a lead, logged) reads them all.
    """
    phases = store.case_phases()
    asked = list(dict.fromkeys(cases)) if cases else list(phases)
    missing = [c for c in asked if c not in phases]
    if missing:
        raise InputError(f"no case {missing[0]!r} in the store")
    independent = tuple(c for c in asked if phases[c] == INDEPENDENT)
    if unlock_by is not None:
        unlock(store, unlock_by, command, independent)
        return Scope(tuple(asked), (), independent)
    if cases and independent:
        raise PhaseError(_refusal(independent, command))
    return Scope(tuple(c for c in asked if phases[c] != INDEPENDENT), independent)


def consensus_scope(store: Store, case: str | None = None, *, unlock_by: str | None = None) -> Scope:
    """The cases the consensus view works on: those in consensus or audit (or one of them)."""
    phases = store.case_phases()
    if case is not None and case not in phases:
        raise InputError(f"no case {case!r} in the store")
    asked = [case] if case is not None else list(phases)
    if unlock_by is not None:
        opened = [c for c in asked if phases[c] == INDEPENDENT]
        unlock(store, unlock_by, "code --consensus", opened)
        return Scope(tuple(c for c in asked if phases[c] in (INDEPENDENT, *RECORDING)), (), tuple(opened))
    if case is not None and phases[case] == INDEPENDENT:
        raise PhaseError(_refusal((case,), "the consensus view"))
    if case is not None and phases[case] == CLOSED:
        raise PhaseError(f"case {case} is closed: its consensus can no longer change")
    scope = tuple(c for c in asked if phases[c] in RECORDING)
    if not scope:
        raise PhaseError(
            "no case is open for consensus yet: a lead opens one once its judges have finished "
            "(`transcode phase CASE consensus --by LEAD`)"
        )
    return Scope(scope, tuple(c for c in asked if phases[c] == INDEPENDENT))


def blind_cases(store: Store) -> list[str]:
    """Cases still in independent coding that hold judges' decisions: what a whole-study read would show."""
    phases = store.case_phases()
    independent = [c for c, p in phases.items() if p == INDEPENDENT]
    if not independent:
        return []
    coded = {d.case for d in store.decision_log(roles=people.CODING_ROLES, cases=independent)}
    return [c for c in independent if c in coded]


def require_whole_study_open(
    store: Store, command: str, *, unlock_by: str | None = None, hint: str | None = None
) -> list[str]:
    """Whole-study reads of every judge's codes (exports, the API) refuse while :func:`blind_cases`
    holds any; a lead's logged ``unlock_by`` lets one command through. Returns the cases unlocked."""
    held = blind_cases(store)
    if held and unlock_by is not None:
        unlock(store, unlock_by, command, held)
        return held
    if held:
        raise PhaseError(_refusal(tuple(held), command, whole=True, hint=hint))
    return []


def phase_of(store: Store, case: str) -> str:
    phases = store.case_phases()
    if case not in phases:
        raise InputError(f"no case {case!r} in the store")
    return phases[case]


def _cases_text(cases: Sequence[str]) -> str:
    return ("case " if len(cases) == 1 else "cases ") + ", ".join(cases)


def _refusal(cases: Sequence[str], command: str, *, whole: bool = False, hint: str | None = None) -> str:
    if whole:
        what = "hold judges' codes and are" if len(cases) > 1 else "holds judges' codes and is"
    else:
        what = "are" if len(cases) > 1 else "is"
    return (
        f"{command} would show one judge's codes to another: {_cases_text(cases)} {what} still in "
        "independent coding. A lead opens consensus when the judges have finished "
        f"(`transcode phase CASE consensus --by LEAD`), {hint or 'or passes --unlock --by LEAD (logged)'}"
    )
