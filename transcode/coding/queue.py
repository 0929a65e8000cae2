"""The coding queue: every thought unit as the coding screen shows it, and the model's stored proposals.

Units come in transcript order, or least certain proposal first (active
learning's margin order), so the judges' time goes where the model knows least.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

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
            .order_by(ThoughtUnitRow.id, Proposal.score.desc())
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
