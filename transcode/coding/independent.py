"""Independent coding: a judge codes blind, one keypress at a time, each decision committed at once.

Blindness: everything here reads the coding judge's own decisions only; the screen shows their
own progress and how often they kept the model's suggestion, never a statistic over another
judge's codes. A judge codes the cases a lead assigned them while those cases are
``independent`` (:mod:`transcode.coding.phases`); the model's proposals appear as the study's
``suggestions`` setting says (:mod:`transcode.coding.suggestions`), and each decision records
whether they were on the screen. :class:`CodingSession` is the coding screen without the screen:
the crash tests drive the same methods, so what the screen shows as saved is exactly what was
committed.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping, MutableMapping, Sequence
from dataclasses import dataclass

from sqlalchemy import select

from transcode.codebook import Codebook
from transcode.coding import people, suggestions
from transcode.coding.codebook_ops import Recode, pending_recodes
from transcode.coding.codes import (
    OTHER,
    Acceptance,
    AcceptanceTally,
    Decision,
    accept_decisions,
    acceptance,
    changes_to,
    check_decisions,
    current_codes,
    fold,
    is_coded,
)
from transcode.coding.phases import INDEPENDENT
from transcode.coding.queue import (
    CaseProposals,
    CaseQueue,
    Order,
    QueueItem,
    UnitProposals,
    load_proposals,
    queue_keys,
    unit_matches,
)
from transcode.errors import InputError, PhaseError, StoreError
from transcode.store import Store
from transcode.store.repo import registered_judge
from transcode.store.schema import Case, CodeDecision, ThoughtUnitRow


def record_decisions(
    store: Store,
    judge: str,
    unit_key: str,
    decisions: Sequence[Decision],
    *,
    suggestions_shown: bool | None = None,
) -> list[int]:
    """Append a keypress's decisions for one unit in one transaction; committed on return.

    Only a registered judge (or lead) codes, and only while the unit's case is ``independent``.
    Lookups run in their own read before the write transaction, which starts with its insert
    and so waits for a concurrent writer instead of failing as locked; the phase is checked
    again inside it, so a lead opening consensus meanwhile leaves no late decision behind.
    """
    check_decisions(decisions)
    if not decisions:
        return []
    with store.session() as s:
        person = registered_judge(s, judge)
        judge_id, role = person.id, person.role
        found = s.execute(
            select(ThoughtUnitRow.id, Case.id, Case.key, Case.phase)
            .join(Case, Case.id == ThoughtUnitRow.case_id)
            .where(ThoughtUnitRow.key == unit_key)
        ).first()
    if role not in people.CODING_ROLES:
        raise PhaseError(f"{judge} is an {role}; only judges and leads code units")
    if found is None:
        raise StoreError(f"no thought unit {unit_key!r} in the store")
    unit_id, case_id, case, phase = found
    if phase != INDEPENDENT:
        raise _coding_over(case, phase)
    with store.sessions.begin() as s:
        rows = [
            CodeDecision(
                unit_id=unit_id,
                judge_id=judge_id,
                domain=d.domain,
                action=d.action,
                note=d.note,
                model_version=d.model_version,
                suggestions_shown=suggestions_shown,
            )
            for d in decisions
        ]
        s.add_all(rows)
        s.flush()
        phase = s.scalar(select(Case.phase).where(Case.id == case_id)) or phase
        if phase != INDEPENDENT:
            raise _coding_over(case, phase)
        return [row.id for row in rows]


def _coding_over(case: str, phase: str) -> PhaseError:
    return PhaseError(f"case {case} is in {phase}: its independent coding is over, nothing was recorded")


def judge_codes(store: Store, judge: str) -> dict[str, frozenset[str]]:
    """The judge's own current codes per unit (``{"other"}`` for no domain), in the current codebook
    (codes given under an earlier version follow its renames and merges). Only this judge's."""
    codes = current_codes((d.unit, d.domain, d.action) for d in store.decision_log(judge))
    return store.domain_map().all_codes(codes)


def add_note(store: Store, judge: str, unit_key: str, note: str) -> int:
    """Attach a note by repeating the judge's latest decision on the unit (codes stay as they are)."""
    note = note.strip()
    if not note:
        raise InputError("an empty note is not saved")
    latest = next((d for d in reversed(store.decision_log(judge)) if d.unit == unit_key), None)
    if latest is None:
        raise StoreError("code the unit first: a note is kept with your codes")
    decision = Decision(latest.domain, latest.action, note, latest.model_version)
    return record_decisions(store, judge, unit_key, [decision], suggestions_shown=latest.suggestions_shown)[0]


def judge_notes(store: Store, judge: str) -> dict[str, list[str]]:
    """The judge's own notes per unit, oldest first."""
    out: dict[str, list[str]] = defaultdict(list)
    for d in store.decision_log(judge):
        if d.note is not None:
            out[d.unit].append(d.note)
    return dict(out)


def judge_acceptance(store: Store, judge: str, last: int | None = None) -> Acceptance:
    """How often the judge kept the model's suggestion as it stood (over their ``last`` coded units)."""
    rows = ((d.unit, d.domain, d.action, d.model_version) for d in store.decision_log(judge))
    return acceptance(rows, last)


@dataclass(frozen=True)
class Feedback:
    """What the coding screen tells a judge about themselves: how often they kept the suggestion."""

    overall: Acceptance
    recent: Acceptance

    @property
    def note(self) -> str | None:
        return suggestions.note_text(self.recent) if suggestions.needs_note(self.recent) else None


def judge_feedback(store: Store, judge: str) -> Feedback:
    """The judge's own acceptance, overall and over their last :data:`~suggestions.NOTE_WINDOW` units."""
    rows = [(d.unit, d.domain, d.action, d.model_version) for d in store.decision_log(judge)]
    return Feedback(acceptance(rows), acceptance(rows, suggestions.NOTE_WINDOW))


def coding_cases(store: Store, judge: str, case: str | None = None) -> list[str]:
    """The cases ``judge`` codes now: assigned to them and still ``independent`` (or just ``case``)."""
    people.require(store, judge, people.CODING_ROLES, doing="coding")
    phases = store.case_phases()
    mine = [a.case for a in store.assignments(judge)]
    if case is not None:
        if case not in phases:
            raise InputError(f"no case {case!r} in the store")
        if phases[case] != INDEPENDENT:
            raise PhaseError(f"case {case} is in {phases[case]}: its independent coding is over")
        if case not in mine:
            raise PhaseError(
                f"{judge} is not assigned to case {case}; a lead assigns judges with "
                f"`transcode judges assign {judge} --case {case} --by LEAD`"
            )
        return [case]
    open_cases = [c for c in mine if phases[c] == INDEPENDENT]
    if not open_cases:
        raise PhaseError(
            f"{judge} has no case to code: none assigned to them is in independent coding "
            f"(a lead assigns with `transcode judges assign {judge} --by LEAD`)"
        )
    return open_cases


#: The session's proposals: read a case at a time, or all at once for the uncertainty order.
MutableProposals = CaseProposals | MutableMapping[str, UnitProposals]


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
        self.cases = coding_cases(store, judge, case)
        self.suggestions = suggestions.mode(store)
        # The order is read up front; texts and proposals a case at a time as the cursor gets there
        # (the uncertainty order ranks by every proposal, so it reads them all).
        ranked = load_proposals(store, cases=self.cases) if order == "uncertainty" else None
        pairs = queue_keys(store, cases=self.cases, order=order, proposals=ranked)
        if not pairs:
            raise StoreError("the cases to code hold no thought units; import their transcripts first")
        self.queue = CaseQueue(store, pairs)
        self.proposals: MutableProposals = ranked if ranked is not None else CaseProposals(store, dict(pairs))
        self.codes: dict[str, frozenset[str]] = {}
        self.notes: dict[str, list[str]] = defaultdict(list)
        #: this judge's latest decision per unit (a note repeats it) and the running acceptance
        self._latest: dict[str, tuple[Decision, bool | None]] = {}
        self._acceptance = AcceptanceTally()
        log = store.decision_log(judge)
        # codes given under an earlier codebook version follow its renames and merges
        mapped = store.domain_map().all_codes(current_codes((d.unit, d.domain, d.action) for d in log))
        for unit, decided in mapped.items():
            self.codes[unit] = decided
        #: This judge's units to code again after a split (settled by their next decision there).
        self.recode: dict[str, Recode] = {r.unit: r for r in pending_recodes(store, judge)}
        for d in log:
            self._remember(d.unit, Decision(d.domain, d.action, d.note, d.model_version), d.suggestions_shown)
        self._undo: list[_UndoStep] = []
        self._revealed: set[str] = set()
        self._index_of = {key: i for i, key in enumerate(self.queue.keys)}
        # Counts per case, kept up to date on each decision (never a scan of the queue per keypress).
        self._total = Counter(self.queue.cases)
        self._done = Counter(case for key, case in pairs if is_coded(self.codes.get(key)))
        self._finished = {a.case: a.finished for a in store.assignments(judge)}
        for name in self._total:
            self._sync_finished(name)
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
        """The model's proposal for this unit, if the study's setting puts it on the screen now."""
        return self.proposals.get(self.current.key) if self.suggestions_visible() else None

    def suggestions_visible(self, key: str | None = None) -> bool:
        key = key or self.current.key
        return suggestions.visible(
            self.suggestions, decided=key in self.codes, revealed=key in self._revealed
        )

    def reveal(self) -> bool:
        """Show the model's proposal for this unit (after-first-choice); True if it was hidden."""
        if self.suggestions == suggestions.HIDDEN:
            raise InputError("this study hides the model's suggestions during independent coding")
        if self.suggestions_visible():
            return False
        self._revealed.add(self.current.key)
        return True

    def _remember(self, key: str, decision: Decision, shown: bool | None) -> None:
        self._latest[key] = (decision, shown)
        self._acceptance.add(key, decision.domain, decision.action, decision.model_version)
        if decision.note is not None:
            self.notes[key].append(decision.note)

    def feedback(self) -> Feedback:
        """This judge's own acceptance, overall and recent, from the counts kept per decision."""
        return Feedback(self._acceptance.overall(), self._acceptance.recent(suggestions.NOTE_WINDOW))

    def progress(self) -> dict[str, tuple[int, int]]:
        """``{case: (coded, total)}`` from counts kept per decision (never a scan of the queue)."""
        return {case: (self._done[case], total) for case, total in self._total.items()}

    def overall(self) -> tuple[int, int]:
        return sum(self._done.values()), len(self.queue)

    def all_coded(self) -> bool:
        return sum(self._done.values()) == len(self.queue)

    def finished(self, case: str) -> bool:
        return self._finished.get(case, False)

    # -- moving ----------------------------------------------------------------------------------
    def _next_uncoded(self, start: int) -> int | None:
        keys = self.queue.keys
        n = len(keys)
        for step in range(n):
            i = (start + step) % n
            key = keys[i]
            if not is_coded(self.codes.get(key)) or key in self.recode:
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
        positions = [i for i, name in enumerate(self.queue.cases) if name == case]
        if not positions:
            raise StoreError(f"no case {case!r} in this queue")
        uncoded = [i for i in positions if not is_coded(self.codes.get(self.queue.keys[i]))]
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
        hits = set(unit_matches(self.store, self.cases, needle))
        keys = self.queue.keys
        n = len(keys)
        for step in range(1, n + 1):
            i = (self.index + step) % n
            if keys[i] in hits:
                self.index = i
                return True
        return False

    # -- deciding (each commits before returning) ------------------------------------------------
    def _commit(self, decisions: list[Decision], *, unit: str | None = None, undoable: bool = True) -> Saved:
        key = unit or self.current.key
        before = self.codes.get(key, frozenset())
        shown = self.suggestions_visible(key)
        ids = record_decisions(self.store, self.judge, key, decisions, suggestions_shown=shown)
        self.recode.pop(key, None)
        after = fold(before, decisions)
        self.codes[key] = after
        for decision in decisions:
            self._remember(key, decision, shown)
        if is_coded(after) != is_coded(before):
            case = self.queue.cases[self._index_of[key]]
            self._done[case] += 1 if is_coded(after) else -1
            self._sync_finished(case)
        if undoable and after != before:
            self._undo.append(_UndoStep(key, before))
        self.last_saved = Saved(key, tuple(ids), after)
        return self.last_saved

    def _sync_finished(self, case: str) -> None:
        """An assignment is finished while the judge has coded every unit of the case."""
        complete = self._done[case] == self._total[case]
        if case in self._finished and self._finished[case] != complete:
            self.store.set_finished(self.judge, case, complete)
            self._finished[case] = complete

    def _shown_proposal(self) -> UnitProposals:
        if not self.suggestions_visible():
            if self.suggestions == suggestions.HIDDEN:
                raise InputError("this study hides the model's suggestions during independent coding")
            raise InputError("the suggestion is not shown yet: choose first, or press s to see it")
        proposal = self.proposals.get(self.current.key)
        if proposal is None:
            raise StoreError("no model proposal for this unit: code it by number or mark it other")
        return proposal

    def accept(self) -> Saved:
        """Take the model's suggestion for this unit and move on (only once it is on the screen)."""
        saved = self._commit(accept_decisions(self.current_codes, self._shown_proposal()))
        self.advance()
        return saved

    def reject(self) -> Saved:
        """The suggestion is wrong: record each suggested domain as rejected; stay to code the unit."""
        proposal = self._shown_proposal()
        if not proposal.suggested:
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
        """Attach a note by repeating this judge's latest decision on the unit (as :func:`add_note`)."""
        key = self.current.key
        text = text.strip()
        if not text:
            raise InputError("an empty note is not saved")
        if key not in self._latest:
            raise StoreError("code the unit first: a note is kept with your codes")
        latest, shown = self._latest[key]
        decision = Decision(latest.domain, latest.action, text, latest.model_version)
        decision_id = record_decisions(self.store, self.judge, key, [decision], suggestions_shown=shown)[0]
        self._remember(key, decision, shown)
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
