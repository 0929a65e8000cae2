"""Independent coding: a judge codes blind, one keypress at a time, each decision committed at once.

Blindness: everything here that a judge's screen shows reads that judge's own
decisions only. :func:`pair_agreement` reads every judge's codes but returns only
aggregate numbers, and only once two judges share :data:`MIN_SHARED_UNITS` units,
so no single unit can reveal another judge's choice. :class:`CodingSession` is the
coding screen without the screen: the crash tests drive the same methods, so what
the screen shows as saved is exactly what was committed.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy import select

from transcode.codebook import Codebook
from transcode.coding.codes import (
    OTHER,
    Acceptance,
    Decision,
    accept_decisions,
    acceptance,
    case_progress,
    changes_to,
    check_decisions,
    current_codes,
    fold,
    is_coded,
)
from transcode.coding.queue import Order, QueueItem, UnitProposals, coding_queue, load_proposals
from transcode.errors import InputError, StoreError
from transcode.store import Store
from transcode.store.schema import CodeDecision, ThoughtUnitRow

#: The pair agreement is shown only once the two judges share this many coded units,
#: so a single shared unit can never reveal what the other judge chose.
MIN_SHARED_UNITS = 10


@dataclass(frozen=True)
class PairAgreement:
    other: str
    n_units: int
    cohen_kappa: float | None
    percent_agreement: float | None


def record_decisions(store: Store, judge: str, unit_key: str, decisions: Sequence[Decision]) -> list[int]:
    """Append a keypress's decisions for one unit in one transaction; committed on return.

    Lookups run before the first insert, so the write transaction starts with a
    write and waits for a concurrent writer instead of failing as locked.
    """
    check_decisions(decisions)
    if not decisions:
        return []
    judge_id = store.judge(judge)
    with store.sessions.begin() as s:
        unit_id = s.scalar(select(ThoughtUnitRow.id).where(ThoughtUnitRow.key == unit_key))
        if unit_id is None:
            raise StoreError(f"no thought unit {unit_key!r} in the store")
        rows = [
            CodeDecision(
                unit_id=unit_id,
                judge_id=judge_id,
                domain=d.domain,
                action=d.action,
                note=d.note,
                model_version=d.model_version,
            )
            for d in decisions
        ]
        s.add_all(rows)
        s.flush()
        return [row.id for row in rows]


def judge_codes(store: Store, judge: str) -> dict[str, frozenset[str]]:
    """The judge's own current codes per unit (``{"other"}`` for no domain). Only this judge's."""
    return current_codes((d.unit, d.domain, d.action) for d in store.decision_log(judge))


def add_note(store: Store, judge: str, unit_key: str, note: str) -> int:
    """Attach a note by repeating the judge's latest decision on the unit (codes stay as they are)."""
    note = note.strip()
    if not note:
        raise InputError("an empty note is not saved")
    latest = next((d for d in reversed(store.decision_log(judge)) if d.unit == unit_key), None)
    if latest is None:
        raise StoreError("code the unit first: a note is kept with your codes")
    decision = Decision(latest.domain, latest.action, note, latest.model_version)
    return record_decisions(store, judge, unit_key, [decision])[0]


def judge_notes(store: Store, judge: str) -> dict[str, list[str]]:
    """The judge's own notes per unit, oldest first."""
    out: dict[str, list[str]] = defaultdict(list)
    for d in store.decision_log(judge):
        if d.note is not None:
            out[d.unit].append(d.note)
    return dict(out)


def judge_acceptance(store: Store, judge: str) -> Acceptance:
    """How often the judge kept the model's suggestion as it stood."""
    return acceptance((d.unit, d.domain, d.action, d.model_version) for d in store.decision_log(judge))


def pair_agreement(store: Store, judge: str, min_shared: int = MIN_SHARED_UNITS) -> PairAgreement | None:
    """Agreement between ``judge`` and the judge sharing most coded units with them.

    Only numbers leave this function. ``None`` until the pair shares ``min_shared`` units.
    """
    from transcode.agreement import agreement_report
    from transcode.coding.consensus import all_judge_codes

    everyone = all_judge_codes(store)
    mine = {k: v for k, v in everyone.get(judge, {}).items() if is_coded(v)}
    best: tuple[int, str, list[str]] | None = None
    for other, theirs in sorted(everyone.items()):
        if other == judge:
            continue
        shared = [k for k in mine if is_coded(theirs.get(k))]
        if best is None or len(shared) > best[0]:
            best = (len(shared), other, shared)
    if best is None or best[0] < max(min_shared, 1):
        return None
    _, other, shared = best
    records = [
        (key, name, code)
        for key in shared
        for name, codes in ((judge, mine), (other, everyone[other]))
        for code in sorted(codes[key])
    ]
    pair = agreement_report(records)["pairs"][0]
    return PairAgreement(other, pair["n_units"], pair["cohen_kappa"], pair["percent_agreement"])


@dataclass(frozen=True)
class Saved:
    """What the last write committed: shown in the status line as the save receipt."""

    unit: str
    decision_ids: tuple[int, ...]
    codes: frozenset[str]


@dataclass(frozen=True)
class _UndoStep:
    unit: str
    before: frozenset[str]


class CodingSession:
    """A judge's cursor over the coding queue. Holds only this judge's codes (blind coding).

    Each method that writes returns only after the store has committed.
    """

    def __init__(
        self,
        store: Store,
        judge: str,
        codebook: Codebook,
        *,
        order: Order = "transcript",
        case: str | None = None,
    ):
        self.store = store
        self.judge = judge
        self.codebook = codebook
        self.domains = codebook.domain_ids
        self.proposals: dict[str, UnitProposals] = load_proposals(store, case)
        self.queue: list[QueueItem] = coding_queue(store, case=case, order=order, proposals=self.proposals)
        if not self.queue:
            raise StoreError("the store holds no thought units to code; import transcripts first")
        store.judge(judge)  # only once there is something to code: a refused start adds nobody
        self.codes: dict[str, frozenset[str]] = judge_codes(store, judge)
        self.notes: dict[str, list[str]] = judge_notes(store, judge)
        self._undo: list[_UndoStep] = []
        self._index_of = {item.key: i for i, item in enumerate(self.queue)}
        self.index = self._next_uncoded(0) or 0
        self.last_saved: Saved | None = None

    # -- reading -----------------------------------------------------------------------------
    @property
    def current(self) -> QueueItem:
        return self.queue[self.index]

    @property
    def current_codes(self) -> frozenset[str]:
        return self.codes.get(self.current.key, frozenset())

    @property
    def current_proposal(self) -> UnitProposals | None:
        return self.proposals.get(self.current.key)

    def progress(self) -> dict[str, tuple[int, int]]:
        return case_progress(((item.case, item.key) for item in self.queue), self.codes)

    def overall(self) -> tuple[int, int]:
        per_case = self.progress().values()
        return sum(d for d, _ in per_case), sum(t for _, t in per_case)

    def all_coded(self) -> bool:
        return all(is_coded(self.codes.get(item.key)) for item in self.queue)

    # -- moving ----------------------------------------------------------------------------------
    def _next_uncoded(self, start: int) -> int | None:
        n = len(self.queue)
        for step in range(n):
            i = (start + step) % n
            if not is_coded(self.codes.get(self.queue[i].key)):
                return i
        return None

    def advance(self) -> None:
        """After a finished decision: the next unit this judge has not coded, else simply the next."""
        following = self._next_uncoded(self.index + 1)
        self.index = following if following is not None else min(self.index + 1, len(self.queue) - 1)

    def next(self) -> None:
        self.index = min(self.index + 1, len(self.queue) - 1)

    def back(self) -> None:
        self.index = max(self.index - 1, 0)

    def jump_to_case(self, case: str) -> QueueItem:
        """The first uncoded unit of ``case`` (or its first unit when all are coded)."""
        case = case.strip()
        positions = [i for i, item in enumerate(self.queue) if item.case == case]
        if not positions:
            raise StoreError(f"no case {case!r} in this queue")
        uncoded = [i for i in positions if not is_coded(self.codes.get(self.queue[i].key))]
        self.index = (uncoded or positions)[0]
        return self.current

    def jump_to_unit(self, key: str) -> None:
        if key not in self._index_of:
            raise StoreError(f"no unit {key!r} in this queue")
        self.index = self._index_of[key]

    def search(self, query: str) -> bool:
        """Move to the next unit (after the current one, wrapping) whose text or id holds ``query``."""
        needle = query.strip().casefold()
        if not needle:
            return False
        n = len(self.queue)
        for step in range(1, n + 1):
            i = (self.index + step) % n
            item = self.queue[i]
            if needle in item.text.casefold() or needle in item.key.casefold():
                self.index = i
                return True
        return False

    # -- deciding (each commits before returning) ------------------------------------------------
    def _commit(self, decisions: list[Decision], *, unit: str | None = None, undoable: bool = True) -> Saved:
        key = unit or self.current.key
        before = self.codes.get(key, frozenset())
        ids = record_decisions(self.store, self.judge, key, decisions)
        after = fold(before, decisions)
        self.codes[key] = after
        if undoable and after != before:
            self._undo.append(_UndoStep(key, before))
        self.last_saved = Saved(key, tuple(ids), after)
        return self.last_saved

    def accept(self) -> Saved:
        """Take the model's suggestion for this unit and move on."""
        proposal = self.current_proposal
        if proposal is None:
            raise StoreError("no model proposal for this unit: code it by number or mark it other")
        saved = self._commit(accept_decisions(self.current_codes, proposal))
        self.advance()
        return saved

    def reject(self) -> Saved:
        """The suggestion is wrong: record each suggested domain as rejected; stay to code the unit."""
        proposal = self.current_proposal
        if proposal is None or not proposal.suggested:
            raise StoreError("the model suggests no domain here to reject")
        return self._commit([Decision(d, "rejected") for d in sorted(proposal.suggested)])

    def toggle(self, number: int) -> Saved:
        """Add or remove domain ``number`` (1-based, codebook order); stay on the unit."""
        if not 1 <= number <= len(self.domains):
            raise InputError(f"no domain {number}: the codebook has {len(self.domains)}")
        domain = self.domains[number - 1]
        action = "removed" if domain in self.current_codes else "added"
        return self._commit([Decision(domain, action)])

    def mark_other(self) -> Saved:
        """The unit fits no domain; move on."""
        saved = self._commit([Decision(None, OTHER)])
        self.advance()
        return saved

    def add_note(self, text: str) -> Saved:
        key = self.current.key
        decision_id = add_note(self.store, self.judge, key, text)
        self.notes.setdefault(key, []).append(text.strip())
        self.last_saved = Saved(key, (decision_id,), self.codes.get(key, frozenset()))
        return self.last_saved

    def undo(self) -> Saved | None:
        """Restore the codes before the last change of this session (appending compensating decisions)."""
        if not self._undo:
            return None
        step = self._undo.pop()
        current = self.codes.get(step.unit, frozenset())
        decisions = changes_to(current, step.before, self.domains)
        self.jump_to_unit(step.unit)
        return self._commit(decisions, unit=step.unit, undoable=False) if decisions else None

    def refresh_proposals(self, proposals: Mapping[str, UnitProposals]) -> None:
        """New proposals from a retrained model; the queue order stays as the judge knows it."""
        self.proposals.update(proposals)
