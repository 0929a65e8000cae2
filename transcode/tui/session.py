"""One judge's independent-coding session: the queue, the cursor and every write, without any UI.

The coding screen is a view over this object, and the crash test drives the
same methods, so what the screen shows as saved is exactly what was committed.
Each method that writes returns only after the store has committed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from transcode.codebook import Codebook
from transcode.errors import StoreError
from transcode.store import coding
from transcode.store.coding import OTHER, Decision, Order, QueueItem, UnitProposals
from transcode.store.repo import Store, current_codes


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
    """A judge's cursor over the coding queue. Holds only this judge's codes (blind coding)."""

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
        store.judge(judge)
        self.proposals: dict[str, UnitProposals] = coding.load_proposals(store, case)
        self.queue: list[QueueItem] = coding.coding_queue(
            store, case=case, order=order, proposals=self.proposals
        )
        if not self.queue:
            raise StoreError("the store holds no thought units to code; import transcripts first")
        self.codes: dict[str, frozenset[str]] = store.judge_codes(judge)
        self.notes: dict[str, list[str]] = coding.judge_notes(store, judge)
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
        return coding.case_progress(self.queue, self.codes)

    def overall(self) -> tuple[int, int]:
        per_case = self.progress().values()
        return sum(d for d, _ in per_case), sum(t for _, t in per_case)

    def all_coded(self) -> bool:
        return all(coding.is_coded(self.codes.get(item.key)) for item in self.queue)

    # -- moving ----------------------------------------------------------------------------------
    def _next_uncoded(self, start: int) -> int | None:
        n = len(self.queue)
        for step in range(n):
            i = (start + step) % n
            if not coding.is_coded(self.codes.get(self.queue[i].key)):
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
        uncoded = [i for i in positions if not coding.is_coded(self.codes.get(self.queue[i].key))]
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
        ids = coding.record_decisions(self.store, self.judge, key, decisions)
        after = _fold(before, decisions)
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
        saved = self._commit(coding.accept_decisions(self.current_codes, proposal))
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
            raise StoreError(f"no domain {number}: the codebook has {len(self.domains)}")
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
        decision_id = coding.add_note(self.store, self.judge, key, text)
        self.notes.setdefault(key, []).append(text.strip())
        self.last_saved = Saved(key, (decision_id,), self.codes.get(key, frozenset()))
        return self.last_saved

    def undo(self) -> Saved | None:
        """Restore the codes before the last change of this session (appending compensating decisions)."""
        if not self._undo:
            return None
        step = self._undo.pop()
        current = self.codes.get(step.unit, frozenset())
        decisions = coding.changes_to(current, step.before, self.domains)
        self.jump_to_unit(step.unit)
        return self._commit(decisions, unit=step.unit, undoable=False) if decisions else None

    def refresh_proposals(self, proposals: Mapping[str, UnitProposals]) -> None:
        """New proposals from a retrained model; the queue order stays as the judge knows it."""
        self.proposals.update(proposals)


def _fold(codes: frozenset[str], decisions: list[Decision]) -> frozenset[str]:
    """The codes after appending ``decisions``, folded by the store's own rule."""
    start = [("u", None, OTHER)] if OTHER in codes else [("u", d, "added") for d in sorted(codes)]
    return current_codes([*start, *(("u", d.domain, d.action) for d in decisions)]).get("u", frozenset())


class ConsensusSession:
    """The team's pass over disagreements: each change is written to the store at once."""

    def __init__(
        self, store: Store, codebook: Codebook, recorder: str | None = None, *, case: str | None = None
    ):
        self.store = store
        self.codebook = codebook
        self.domains = codebook.domain_ids
        self.recorder = recorder
        self.case = case
        self.items: list[coding.Disagreement] = []
        self.consensus: dict[str, frozenset[str]] = {}
        self.notes: dict[str, str] = {}
        self.index = 0
        self.last_saved: str | None = None
        self.reload()
        self.index = self._next_unresolved(0)

    def reload(self) -> None:
        at = self.items[self.index].item.key if self.items else None
        self.items = coding.disagreements(self.store, self.case)
        self.consensus = {d.item.key: d.consensus for d in self.items if d.consensus is not None}
        self.notes = coding.consensus_notes(self.store)
        keys = [d.item.key for d in self.items]
        self.index = keys.index(at) if at in keys else min(self.index, max(len(keys) - 1, 0))

    @property
    def current(self) -> coding.Disagreement | None:
        return self.items[self.index] if self.items else None

    def team_codes(self) -> frozenset[str]:
        """The recorded consensus, else what every judge chose (the starting point for discussion)."""
        current = self.current
        if current is None:
            return frozenset()
        if current.item.key in self.consensus:
            return self.consensus[current.item.key]
        return frozenset.intersection(*current.by_judge.values())

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
        self.store.set_consensus(key, codes - {OTHER}, self.recorder, self.notes.get(key))
        self.consensus[key] = (codes - {OTHER}) or frozenset({OTHER})
        self.last_saved = key
        return self.consensus[key]

    def toggle(self, number: int) -> frozenset[str]:
        if not 1 <= number <= len(self.domains):
            raise StoreError(f"no domain {number}: the codebook has {len(self.domains)}")
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
        return coding.adopt_unanimous(self.store, self.recorder)


class AuditSession:
    """An auditor's (or a team member's) walk through consensus codes and core ideas."""

    def __init__(self, store: Store, codebook: Codebook, name: str):
        self.store = store
        self.codebook = codebook
        self.name = name
        role = coding.judge_role(store, name)
        if role is None:
            store.judge(name, "auditor")
            role = "auditor"
        self.role = role
        self.targets = coding.audit_targets(store)
        self.index = 0
        self.thread: list[coding.Comment] = []
        self.load_thread()

    @property
    def current(self) -> coding.AuditTarget | None:
        return self.targets[self.index] if self.targets else None

    def load_thread(self) -> None:
        target = self.current
        self.thread = (
            [] if target is None else coding.comments(self.store, target.target_type, target.target_id)
        )

    def move(self, step: int) -> None:
        if self.targets:
            self.index = max(0, min(self.index + step, len(self.targets) - 1))
            self.load_thread()

    def open_comment(self) -> coding.Comment | None:
        """The newest top-level comment without a verdict: what a reply or a verdict applies to."""
        for comment in reversed(self.thread):
            if comment.reply_to is None and comment.resolution is None:
                return comment
        return next((c for c in reversed(self.thread) if c.reply_to is None), None)

    def comment(self, text: str) -> int:
        target = self._target()
        comment_id = coding.add_comment(
            self.store, self.name, target.target_type, target.target_id, text, role=self.role
        )
        self.load_thread()
        return comment_id

    def reply(self, text: str) -> int:
        target = self._target()
        parent = self.open_comment()
        if parent is None:
            raise StoreError("no comment here to answer")
        comment_id = coding.add_comment(
            self.store,
            self.name,
            target.target_type,
            target.target_id,
            text,
            reply_to=parent.id,
            role=self.role,
        )
        self.load_thread()
        return comment_id

    def resolve(self, resolution: str, rationale: str | None) -> int:
        """The team accepts or rejects the open comment (auditors comment; the team decides)."""
        if self.role == "auditor":
            raise StoreError("the team answers an audit comment; an auditor cannot accept or reject it")
        parent = self.open_comment()
        if parent is None or parent.resolution is not None:
            raise StoreError("no open comment here to accept or reject")
        coding.resolve_comment(self.store, parent.id, resolution, rationale)
        self.load_thread()
        return parent.id

    def _target(self) -> coding.AuditTarget:
        if self.current is None:
            raise StoreError("nothing to audit yet: record consensus codes or core ideas first")
        return self.current
