"""Consensus: after independent coding, the team settles every unit the judges coded differently.

Only here (and in agreement reports) are every judge's codes read together, and only for the
cases the phase rules open (:mod:`transcode.coding.phases`): every function that reads them takes
the cases to read. :class:`ConsensusSession` is the consensus screen without the screen; each
change is written to the store at once.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Mapping
from dataclasses import dataclass

from sqlalchemy import func, select

from transcode.codebook import Codebook
from transcode.coding import people, phases
from transcode.coding.codebook_ops import Recode, pending_recodes
from transcode.coding.codes import OTHER, current_codes, is_coded
from transcode.coding.queue import QueueItem, coding_queue
from transcode.errors import InputError, PhaseError, StoreError
from transcode.store import Store
from transcode.store.schema import ConsensusCode, ThoughtUnitRow


@dataclass(frozen=True)
class Disagreement:
    item: QueueItem
    by_judge: dict[str, frozenset[str]]
    consensus: frozenset[str] | None
    #: The unit's consensus code was split (``transcode codebook apply --split``): code it again.
    recode: Recode | None = None


def all_judge_codes(
    store: Store, *, cases: Collection[str], as_coded_in: int | None = None
) -> dict[str, dict[str, frozenset[str]]]:
    """Every judge's current codes in ``cases``: for agreement reports and the consensus step only.

    The codes are those of the current codebook (earlier codes follow renames and merges; split
    and retired ones drop out), or with ``as_coded_in`` the codes as given while that codebook
    version was current, unmapped. The caller passes the cases the phase rules open
    (:func:`phases.reading_scope`, :func:`phases.consensus_scope`), never one still independent.
    """
    window = decision_window(store, as_coded_in) if as_coded_in is not None else None
    by_judge: dict[str, list] = defaultdict(list)
    for d in store.decision_log(roles=people.CODING_ROLES, cases=cases):
        if window is None or window[0] < d.id <= window[1]:
            by_judge[d.judge].append((d.unit, d.domain, d.action))
    if window is not None:
        return {name: current_codes(rows) for name, rows in by_judge.items()}
    dmap = store.domain_map()
    return {name: dmap.all_codes(current_codes(rows)) for name, rows in by_judge.items()}


def decision_window(store: Store, version: int) -> tuple[int, float]:
    """The decision ids made while codebook ``version`` was current: (after this id, up to that one)."""
    versions = store.codebook_versions()
    numbers = [v.version for v in versions]
    if version not in numbers:
        raise InputError(f"no codebook version {version}: the store has {', '.join(map(str, numbers))}")
    index = numbers.index(version)
    start = (versions[index].changes or {}).get("after_decision", 0)
    later = [(v.changes or {}).get("after_decision") for v in versions[index + 1 :]]
    ends = [end for end in later if end is not None]
    return start, (ends[0] if ends else float("inf"))


def disagreements(store: Store, *, cases: Collection[str]) -> list[Disagreement]:
    """Units that two or more judges coded differently, in transcript order, with any consensus;
    and units whose consensus code was split, to record again (their consensus shown as open)."""
    by_unit: dict[str, dict[str, frozenset[str]]] = defaultdict(dict)
    for name, codes in all_judge_codes(store, cases=cases).items():
        for key, given in codes.items():
            if is_coded(given):
                by_unit[key][name] = given
    consensus = store.consensus()
    recode = {r.unit: r for r in pending_recodes(store, team=True) if r.case in cases}
    return [
        Disagreement(
            item,
            dict(sorted(by_unit.get(item.key, {}).items())),
            None if item.key in recode else consensus.get(item.key),
            recode.get(item.key),
        )
        for item in coding_queue(store, cases=cases)
        if item.key in recode
        or (len(by_unit.get(item.key, {})) >= 2 and len(set(by_unit[item.key].values())) > 1)
    ]


def consensus_count(store: Store) -> int:
    """How many units hold consensus codes (what background retraining waits on)."""
    with store.session() as s:
        return s.scalar(select(func.count(func.distinct(ConsensusCode.unit_id)))) or 0


def unanimous_without_consensus(store: Store, *, cases: Collection[str]) -> dict[str, frozenset[str]]:
    """Units every judge who coded them (two or more) coded alike, with no consensus recorded yet."""
    by_unit: dict[str, list[frozenset[str]]] = defaultdict(list)
    for codes in all_judge_codes(store, cases=cases).values():
        for key, given in codes.items():
            if is_coded(given):
                by_unit[key].append(given)
    agreed = store.consensus()
    return {
        key: sets[0]
        for key, sets in by_unit.items()
        if len(sets) >= 2 and len(set(sets)) == 1 and key not in agreed
    }


def adopt_unanimous(store: Store, recorded_by: str | None = None, *, cases: Collection[str]) -> int:
    """Record the shared codes of every unanimous unit as its consensus, in one transaction."""
    agreed = unanimous_without_consensus(store, cases=cases)
    if not agreed:
        return 0
    recorder = store.judge(recorded_by) if recorded_by else None
    with store.sessions.begin() as s:
        ids = dict(
            s.execute(
                select(ThoughtUnitRow.key, ThoughtUnitRow.id).where(ThoughtUnitRow.key.in_(list(agreed)))
            ).all()
        )
        s.add_all(
            ConsensusCode(unit_id=ids[key], domain=domain, recorded_by_id=recorder, note="unanimous")
            for key, codes in agreed.items()
            for domain in sorted(codes)
        )
    return len(agreed)


def consensus_notes(store: Store) -> dict[str, str]:
    """The note kept with each unit's consensus codes."""
    with store.session() as s:
        rows = s.execute(
            select(ThoughtUnitRow.key, ConsensusCode.note)
            .join(ConsensusCode, ConsensusCode.unit_id == ThoughtUnitRow.id)
            .where(ConsensusCode.note.is_not(None))
        ).all()
    return {key: note for key, note in rows if note is not None}


def ratings_records(
    store: Store, *, cases: Collection[str], as_coded_in: int | None = None
) -> list[tuple[str, str, str | None]]:
    """Every judge's current codes in ``cases`` as ``(unit, judge, code)`` records for agreement
    (mapped to the current codebook, or ``as_coded_in`` that version: :func:`all_judge_codes`).

    "other" becomes a record with no code (rated, no domain); emptied units are left out.
    """
    return codes_as_records(all_judge_codes(store, cases=cases, as_coded_in=as_coded_in))


def codes_as_records(
    judge_codes: Mapping[str, Mapping[str, frozenset[str]]],
) -> list[tuple[str, str, str | None]]:
    """Judges' current codes as ``(unit, judge, code)`` records (see :func:`ratings_records`)."""
    out: list[tuple[str, str, str | None]] = []
    for name, codes in sorted(judge_codes.items()):
        for key, given in sorted(codes.items()):
            if not is_coded(given):
                continue
            domains = sorted(given - {OTHER})
            out += [(key, name, d) for d in domains] or [(key, name, None)]
    return out


class ConsensusSession:
    """The team's pass over disagreements: each change is written to the store at once."""

    def __init__(
        self,
        store: Store,
        codebook: Codebook,
        recorder: str | None = None,
        *,
        case: str | None = None,
        unlock: bool = False,
    ):
        if recorder is not None:
            people.require(store, recorder, people.CODING_ROLES, doing="recording consensus")
        self.store = store
        self.codebook = codebook
        self.domains = codebook.domain_ids
        self.recorder = recorder
        self.case = case
        self.scope = phases.consensus_scope(store, case, unlock_by=recorder if unlock else None)
        self.cases = self.scope.cases
        self.items: list[Disagreement] = []
        self.consensus: dict[str, frozenset[str]] = {}
        self.notes: dict[str, str] = {}
        self.index = 0
        self.last_saved: str | None = None
        self.reload()
        self.index = self._next_unresolved(0)

    def reload(self) -> None:
        at = self.items[self.index].item.key if self.items else None
        self.items = disagreements(self.store, cases=self.cases)
        self.consensus = {d.item.key: d.consensus for d in self.items if d.consensus is not None}
        self.notes = consensus_notes(self.store)
        keys = [d.item.key for d in self.items]
        self.index = keys.index(at) if at in keys else min(self.index, max(len(keys) - 1, 0))

    @property
    def current(self) -> Disagreement | None:
        return self.items[self.index] if self.items else None

    def team_codes(self) -> frozenset[str]:
        """The recorded consensus, else what every judge chose (the starting point for discussion)."""
        current = self.current
        if current is None:
            return frozenset()
        if current.item.key in self.consensus:
            return self.consensus[current.item.key]
        return frozenset.intersection(*current.by_judge.values()) if current.by_judge else frozenset()

    def is_recorded(self) -> bool:
        return self.current is not None and self.current.item.key in self.consensus

    def resolved(self) -> tuple[int, int]:
        return sum(d.item.key in self.consensus for d in self.items), len(self.items)

    def _next_unresolved(self, start: int) -> int:
        n = len(self.items)
        for step in range(n):
            i = (start + step) % n
            if self.items[i].item.key not in self.consensus:
                return i
        return min(start, max(n - 1, 0))

    def _save(self, codes: frozenset[str]) -> frozenset[str]:
        current = self.current
        if current is None:
            raise StoreError("no disagreements to resolve")
        key = current.item.key
        phase = phases.phase_of(self.store, current.item.case)
        if phase not in phases.RECORDING and not (phase == phases.INDEPENDENT and self.scope.unlocked):
            raise PhaseError(
                f"case {current.item.case} is in {phase}: the team cannot record its consensus now"
            )
        self.store.set_consensus(key, codes - {OTHER}, self.recorder, self.notes.get(key))
        self.consensus[key] = (codes - {OTHER}) or frozenset({OTHER})
        self.last_saved = key
        return self.consensus[key]

    def toggle(self, number: int) -> frozenset[str]:
        if not 1 <= number <= len(self.domains):
            raise InputError(f"no domain {number}: the codebook has {len(self.domains)}")
        return self._save((self.team_codes() - {OTHER}) ^ {self.domains[number - 1]})

    def mark_other(self) -> frozenset[str]:
        saved = self._save(frozenset({OTHER}))
        self.advance()
        return saved

    def record(self) -> frozenset[str]:
        """Record the codes shown as the team's consensus and go to the next open disagreement."""
        saved = self._save(self.team_codes())
        self.advance()
        return saved

    def add_note(self, text: str) -> frozenset[str]:
        """Keep a note with the unit's consensus (recording the codes shown)."""
        current = self.current
        if current is None:
            raise StoreError("no disagreements to note on")
        self.notes[current.item.key] = text.strip()
        return self._save(self.team_codes())

    def advance(self) -> None:
        if self.items:
            self.index = self._next_unresolved(self.index + 1)

    def next(self) -> None:
        self.index = min(self.index + 1, max(len(self.items) - 1, 0))

    def back(self) -> None:
        self.index = max(self.index - 1, 0)

    def adopt_unanimous(self) -> int:
        return adopt_unanimous(self.store, self.recorder, cases=self.cases)
