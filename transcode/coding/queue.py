"""The coding queue: every thought unit as the coding screen shows it, and the model's stored proposals.

Units come in transcript order, or least certain proposal first (active
learning's margin order), so the judges' time goes where the model knows least.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import overload

from sqlalchemy import select

from transcode.coding.codes import ORDERS, Order
from transcode.errors import InputError, StoreError
from transcode.store import Store
from transcode.store.schema import Case, Proposal, ThoughtUnitRow, TurnRow


@dataclass(frozen=True)
class QueueItem:
    """A thought unit as the coding screen needs it: its text, question and place in its turn."""

    key: str
    case: str
    position: int
    turn: int
    text: str
    question: str | None
    turn_text: str
    start: int
    end: int


@dataclass(frozen=True)
class UnitProposals:
    """The model's stored proposal for one unit: scores highest first and the suggested set."""

    scores: tuple[tuple[str, float], ...]
    suggested: frozenset[str]
    model_version: str

    def score(self, domain: str) -> float | None:
        return dict(self.scores).get(domain)


def coding_queue(
    store: Store,
    *,
    case: str | None = None,
    cases: Collection[str] | None = None,
    order: Order = "transcript",
    proposals: Mapping[str, UnitProposals] | None = None,
) -> list[QueueItem]:
    """Every unit (of one case, some ``cases``, or all) in transcript order, or most uncertain first."""
    if order not in ORDERS:
        raise InputError(f"order must be transcript or uncertainty, not {order!r}")
    with store.session() as s:
        query = (
            select(ThoughtUnitRow, Case.key, TurnRow.text)
            .join(Case, Case.id == ThoughtUnitRow.case_id)
            .join(TurnRow, TurnRow.id == ThoughtUnitRow.turn_id)
            .order_by(Case.key, ThoughtUnitRow.position)
        )
        if case is not None:
            query = query.where(Case.key == case)
        if cases is not None:
            query = query.where(Case.key.in_(list(cases)))
        items = [
            QueueItem(
                u.key, case_key, u.position, u.turn_number, u.text, u.question, turn_text, u.start, u.end
            )
            for u, case_key, turn_text in s.execute(query)
        ]
    if case is not None and not items:
        raise StoreError(f"case {case!r} has no thought units in the store")
    if order == "uncertainty":
        proposals = load_proposals(store, case, cases=cases) if proposals is None else proposals
        return order_by_uncertainty(items, proposals)
    return items


def queue_keys(
    store: Store,
    *,
    cases: Collection[str],
    order: Order = "transcript",
    proposals: Mapping[str, UnitProposals] | None = None,
) -> list[tuple[str, str]]:
    """The coding queue as ``(unit, case)`` pairs only: the order, without the texts."""
    if order not in ORDERS:
        raise InputError(f"order must be transcript or uncertainty, not {order!r}")
    with store.session() as s:
        pairs = [
            (key, case)
            for key, case in s.execute(
                select(ThoughtUnitRow.key, Case.key)
                .join(Case, Case.id == ThoughtUnitRow.case_id)
                .where(Case.key.in_(list(cases)))
                .order_by(Case.key, ThoughtUnitRow.position)
            )
        ]
    if order == "uncertainty":
        from transcode.classify import UnitProposal
        from transcode.classify.active import order_queue

        proposals = load_proposals(store, cases=cases) if proposals is None else proposals
        scored = [key for key, _ in pairs if key in proposals]
        domains = sorted({d for key in scored for d, _ in proposals[key].scores})
        ranked = order_queue(
            scored,
            [
                UnitProposal(proposals[k].scores, tuple(proposals[k].suggested), proposals[k].model_version)
                for k in scored
            ],
            domains,
        )
        case_of = dict(pairs)
        return [(key, case_of[key]) for key in ranked] + [p for p in pairs if p[0] not in proposals]
    return pairs


class CaseQueue(Sequence[QueueItem]):
    """The coding queue, loaded a case at a time: the order is known up front, each unit's text,
    question and turn are read with its case when the cursor first reaches it (the last few cases
    stay in memory), so opening the room and its memory do not grow with the study."""

    def __init__(self, store: Store, pairs: Sequence[tuple[str, str]], keep: int = 8) -> None:
        self.store = store
        self.keys = [key for key, _ in pairs]
        self.cases = [case for _, case in pairs]
        self._keep = keep
        self._loaded: dict[str, dict[str, QueueItem]] = {}

    def __len__(self) -> int:
        return len(self.keys)

    @overload
    def __getitem__(self, index: int) -> QueueItem: ...
    @overload
    def __getitem__(self, index: slice) -> list[QueueItem]: ...
    def __getitem__(self, index: int | slice) -> QueueItem | list[QueueItem]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        return self._case(self.cases[index])[self.keys[index]]

    def _case(self, case: str) -> dict[str, QueueItem]:
        items = self._loaded.pop(case, None)
        if items is None:
            items = {item.key: item for item in coding_queue(self.store, case=case)}
            while len(self._loaded) >= self._keep:
                self._loaded.pop(next(iter(self._loaded)))
        self._loaded[case] = items  # the most recently used case last
        return items


class CaseProposals(Mapping[str, UnitProposals]):
    """The stored proposals, read a case at a time as the queue reaches it (see :class:`CaseQueue`);
    proposals handed in by retraining take precedence."""

    def __init__(self, store: Store, case_of: Mapping[str, str], keep: int = 8) -> None:
        self.store = store
        self._case_of = case_of
        self._keep = keep
        self._loaded: dict[str, dict[str, UnitProposals]] = {}
        self._newer: dict[str, UnitProposals] = {}

    def _case(self, case: str) -> dict[str, UnitProposals]:
        found = self._loaded.pop(case, None)
        if found is None:
            found = load_proposals(self.store, case)
            while len(self._loaded) >= self._keep:
                self._loaded.pop(next(iter(self._loaded)))
        self._loaded[case] = found
        return found

    def __getitem__(self, key: str) -> UnitProposals:
        if key in self._newer:
            return self._newer[key]
        case = self._case_of.get(key)
        if case is None:
            raise KeyError(key)
        return self._case(case)[key]

    def __iter__(self) -> Iterator[str]:
        return (key for key in self._case_of if key in self)

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def update(self, proposals: Mapping[str, UnitProposals]) -> None:
        self._newer.update(proposals)


def unit_matches(store: Store, cases: Collection[str], needle: str) -> list[str]:
    """The units of ``cases`` whose text or id holds ``needle`` (casefolded), read in one pass."""
    with store.session() as s:
        rows = s.execute(
            select(ThoughtUnitRow.key, ThoughtUnitRow.text)
            .join(Case, Case.id == ThoughtUnitRow.case_id)
            .where(Case.key.in_(list(cases)))
        )
        return [key for key, text in rows if needle in text.casefold() or needle in key.casefold()]


def order_by_uncertainty(
    items: Sequence[QueueItem], proposals: Mapping[str, UnitProposals]
) -> list[QueueItem]:
    """Least certain proposal first (margin); units without proposals keep transcript order, last."""
    from transcode.classify import UnitProposal
    from transcode.classify.active import order_queue

    scored = [item for item in items if item.key in proposals]
    domains = sorted({d for item in scored for d, _ in proposals[item.key].scores})
    by_key = {item.key: item for item in scored}
    ranked = order_queue(
        [item.key for item in scored],
        [
            UnitProposal(
                proposals[item.key].scores,
                tuple(proposals[item.key].suggested),
                proposals[item.key].model_version,
            )
            for item in scored
        ],
        domains,
    )
    return [by_key[key] for key in ranked] + [item for item in items if item.key not in proposals]


def load_proposals(
    store: Store, case: str | None = None, *, cases: Collection[str] | None = None
) -> dict[str, UnitProposals]:
    """The current proposal of every unit (of one case, or some ``cases``) in one query."""
    with store.session() as s:
        query = (
            select(
                ThoughtUnitRow.key,
                Proposal.domain,
                Proposal.score,
                Proposal.suggested,
                Proposal.model_version,
            )
            .join(Proposal, Proposal.unit_id == ThoughtUnitRow.id)
            .order_by(ThoughtUnitRow.id, Proposal.score.desc(), Proposal.id)  # ties: as stored
        )
        if case is not None or cases is not None:
            query = query.join(Case, Case.id == ThoughtUnitRow.case_id)
        if case is not None:
            query = query.where(Case.key == case)
        if cases is not None:
            query = query.where(Case.key.in_(list(cases)))
        rows = s.execute(query).all()
    grouped: dict[str, list] = defaultdict(list)
    for key, domain, score, suggested, version in rows:
        grouped[key].append((domain, score, suggested, version))
    return {
        key: UnitProposals(
            tuple((d, float(sc)) for d, sc, _, _ in group),
            frozenset(d for d, _, sug, _ in group if sug),
            group[0][3],
        )
        for key, group in grouped.items()
    }
