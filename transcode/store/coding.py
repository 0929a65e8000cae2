"""Store operations for the coding room: queues, decisions, progress, consensus and audit.

Each function takes a :class:`~transcode.store.repo.Store`; each one that writes
is one transaction, committed before it returns, so whatever the UI shows as
saved survives a killed process. The decision log stays append-only: undo and
notes append compensating or repeating decisions instead of editing rows.

Blindness: functions used in the independent-coding phase read only the given
judge's decisions. :func:`pair_agreement` reads every judge's codes but returns
only aggregate numbers, never another judge's choices.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import func, select

from transcode.errors import StoreError
from transcode.store.repo import ACTIONS, APPLIES, Store
from transcode.store.schema import (
    AuditComment,
    Case,
    CodeDecision,
    ConsensusCode,
    CoreIdea,
    Judge,
    Proposal,
    ThoughtUnitRow,
    TurnRow,
)

OTHER = "other"
Order = Literal["transcript", "uncertainty"]
#: The pair agreement is shown only once the two judges share this many coded units,
#: so a single shared unit can never reveal what the other judge chose.
MIN_SHARED_UNITS = 10


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


@dataclass(frozen=True)
class Decision:
    """One row to append to a judge's decision log."""

    domain: str | None
    action: str
    note: str | None = None
    model_version: str | None = None


@dataclass(frozen=True)
class PairAgreement:
    other: str
    n_units: int
    cohen_kappa: float | None
    percent_agreement: float | None


@dataclass(frozen=True)
class Acceptance:
    """How many of the judge's coded units keep exactly the codes taken from the model."""

    accepted: int
    coded: int

    @property
    def rate(self) -> float | None:
        return self.accepted / self.coded if self.coded else None


@dataclass(frozen=True)
class Disagreement:
    item: QueueItem
    by_judge: dict[str, frozenset[str]]
    consensus: frozenset[str] | None


@dataclass(frozen=True)
class AuditTarget:
    """Something an auditor can comment on: a unit's consensus codes or a core idea."""

    target_type: str  # unit | core_idea
    target_id: int
    case: str
    title: str
    text: str
    codes: frozenset[str]
    context: str | None = None


@dataclass(frozen=True)
class Comment:
    id: int
    author: str
    role: str
    text: str
    reply_to: int | None
    resolution: str | None
    rationale: str | None


# -- the queue ---------------------------------------------------------------------------------
def coding_queue(
    store: Store,
    *,
    case: str | None = None,
    order: Order = "transcript",
    proposals: Mapping[str, UnitProposals] | None = None,
) -> list[QueueItem]:
    """Every unit (of one case, or all) in transcript order, or most uncertain proposal first."""
    with store.session() as s:
        query = (
            select(ThoughtUnitRow, Case.key, TurnRow.text)
            .join(Case, Case.id == ThoughtUnitRow.case_id)
            .join(TurnRow, TurnRow.id == ThoughtUnitRow.turn_id)
            .order_by(Case.key, ThoughtUnitRow.position)
        )
        if case is not None:
            query = query.where(Case.key == case)
        items = [
            QueueItem(
                u.key, case_key, u.position, u.turn_number, u.text, u.question, turn_text, u.start, u.end
            )
            for u, case_key, turn_text in s.execute(query)
        ]
    if case is not None and not items:
        raise StoreError(f"case {case!r} has no thought units in the store")
    if order == "uncertainty":
        proposals = load_proposals(store) if proposals is None else proposals
        return order_by_uncertainty(items, proposals)
    if order != "transcript":
        raise StoreError(f"order must be transcript or uncertainty, not {order!r}")
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


def load_proposals(store: Store, case: str | None = None) -> dict[str, UnitProposals]:
    """The current proposal of every unit (of one case) in one query."""
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
        if case is not None:
            query = query.join(Case, Case.id == ThoughtUnitRow.case_id).where(Case.key == case)
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


# -- decisions ---------------------------------------------------------------------------------
def record_decisions(store: Store, judge: str, unit_key: str, decisions: Sequence[Decision]) -> list[int]:
    """Append a keypress's decisions for one unit in one transaction; committed on return.

    Lookups run before the first insert, so the write transaction starts with a
    write and waits for a concurrent writer instead of failing as locked.
    """
    for d in decisions:
        if d.action not in ACTIONS:
            raise StoreError(f"unknown action {d.action!r}")
        if (d.action == OTHER) != (d.domain is None):
            raise StoreError("'other' takes no domain; every other action needs one")
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


def changes_to(
    current: frozenset[str], target: frozenset[str], domains: Sequence[str], model_version: str | None = None
) -> list[Decision]:
    """The decisions that turn a unit's ``current`` codes into ``target`` (used by undo).

    ``target`` may be empty (the unit was not coded before): that clears "other"
    with a ``removed`` decision, which leaves the unit with no codes.
    """
    if target == current:
        return []
    if target == {OTHER}:
        return [Decision(None, OTHER, model_version=model_version)]
    out = [Decision(d, "removed") for d in sorted(current - target - {OTHER})]
    out += [Decision(d, "added", model_version=model_version) for d in sorted(target - current)]
    if OTHER in current and not out:
        out.append(Decision(domains[0], "removed"))
    return out


def accept_decisions(current: frozenset[str], proposal: UnitProposals) -> list[Decision]:
    """Take the model's suggestion as it stands: its domains, or "other" when it suggests none."""
    if not proposal.suggested:
        return [Decision(None, OTHER, model_version=proposal.model_version)]
    out = [Decision(d, "accepted", model_version=proposal.model_version) for d in sorted(proposal.suggested)]
    out += [Decision(d, "removed") for d in sorted(current - proposal.suggested - {OTHER})]
    return out


def add_note(store: Store, judge: str, unit_key: str, note: str) -> int:
    """Attach a note by repeating the judge's latest decision on the unit (codes stay as they are)."""
    note = note.strip()
    if not note:
        raise StoreError("an empty note is not saved")
    with store.session() as s:
        latest = s.execute(
            select(CodeDecision.domain, CodeDecision.action, CodeDecision.model_version)
            .join(ThoughtUnitRow, ThoughtUnitRow.id == CodeDecision.unit_id)
            .join(Judge, Judge.id == CodeDecision.judge_id)
            .where(ThoughtUnitRow.key == unit_key, Judge.name == judge)
            .order_by(CodeDecision.id.desc())
        ).first()
    if latest is None:
        raise StoreError("code the unit first: a note is kept with your codes")
    domain, action, version = latest
    return record_decisions(store, judge, unit_key, [Decision(domain, action, note, version)])[0]


def judge_notes(store: Store, judge: str) -> dict[str, list[str]]:
    """The judge's own notes per unit, oldest first."""
    with store.session() as s:
        rows = s.execute(
            select(ThoughtUnitRow.key, CodeDecision.note)
            .join(CodeDecision, CodeDecision.unit_id == ThoughtUnitRow.id)
            .join(Judge, Judge.id == CodeDecision.judge_id)
            .where(Judge.name == judge, CodeDecision.note.is_not(None))
            .order_by(CodeDecision.id)
        ).all()
    out: dict[str, list[str]] = defaultdict(list)
    for key, note in rows:
        out[key].append(note)
    return dict(out)


# -- progress and feedback ---------------------------------------------------------------------
def is_coded(codes: frozenset[str] | None) -> bool:
    """A unit counts as coded once it holds a domain or "other" (an emptied unit does not)."""
    return bool(codes)


def case_progress(
    queue: Sequence[QueueItem], codes: Mapping[str, frozenset[str]]
) -> dict[str, tuple[int, int]]:
    """``{case: (coded, total)}`` in queue order of first appearance."""
    out: dict[str, list[int]] = {}
    for item in queue:
        counts = out.setdefault(item.case, [0, 0])
        counts[0] += is_coded(codes.get(item.key))
        counts[1] += 1
    return {case: (done, total) for case, (done, total) in out.items()}


def acceptance(rows: Iterable[tuple[str, str | None, str, str | None]]) -> Acceptance:
    """Fold ``(unit, domain, action, model_version)`` log rows, oldest first, into the acceptance count.

    A unit counts as accepted when every code it holds came from taking the
    model's suggestion (a decision that carries the model version).
    """
    state: dict[str, dict[str, tuple[bool, bool]]] = defaultdict(dict)
    for key, domain, action, version in rows:
        if action == OTHER:
            state[key] = {OTHER: (True, version is not None)}
        else:
            state[key].pop(OTHER, None)
            state[key][domain] = (action in APPLIES, version is not None)
    coded = accepted = 0
    for codes in state.values():
        held = [from_model for applies, from_model in codes.values() if applies]
        if held:
            coded += 1
            accepted += all(held)
    return Acceptance(accepted, coded)


def judge_acceptance(store: Store, judge: str) -> Acceptance:
    with store.session() as s:
        rows = s.execute(
            select(ThoughtUnitRow.key, CodeDecision.domain, CodeDecision.action, CodeDecision.model_version)
            .join(CodeDecision, CodeDecision.unit_id == ThoughtUnitRow.id)
            .join(Judge, Judge.id == CodeDecision.judge_id)
            .where(Judge.name == judge)
            .order_by(CodeDecision.id)
        ).all()
    return acceptance(rows)


def pair_agreement(store: Store, judge: str, min_shared: int = MIN_SHARED_UNITS) -> PairAgreement | None:
    """Agreement between ``judge`` and the judge sharing most coded units with them.

    Only numbers leave this function. ``None`` until the pair shares ``min_shared`` units.
    """
    from transcode.agreement import agreement_report

    everyone = store.all_judge_codes()
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


# -- consensus -----------------------------------------------------------------------------------
def disagreements(store: Store, case: str | None = None) -> list[Disagreement]:
    """Units that two or more judges coded differently, in transcript order, with any consensus."""
    by_unit: dict[str, dict[str, frozenset[str]]] = defaultdict(dict)
    for name, codes in store.all_judge_codes().items():
        for key, given in codes.items():
            if is_coded(given):
                by_unit[key][name] = given
    consensus = store.consensus()
    return [
        Disagreement(item, dict(sorted(by_unit[item.key].items())), consensus.get(item.key))
        for item in coding_queue(store, case=case)
        if len(by_unit.get(item.key, {})) >= 2 and len(set(by_unit[item.key].values())) > 1
    ]


def consensus_count(store: Store) -> int:
    """How many units hold consensus codes (what background retraining waits on)."""
    with store.session() as s:
        return s.scalar(select(func.count(func.distinct(ConsensusCode.unit_id)))) or 0


def unanimous_without_consensus(store: Store) -> dict[str, frozenset[str]]:
    """Units every judge who coded them (two or more) coded alike, with no consensus recorded yet."""
    by_unit: dict[str, list[frozenset[str]]] = defaultdict(list)
    for codes in store.all_judge_codes().values():
        for key, given in codes.items():
            if is_coded(given):
                by_unit[key].append(given)
    agreed = store.consensus()
    return {
        key: sets[0]
        for key, sets in by_unit.items()
        if len(sets) >= 2 and len(set(sets)) == 1 and key not in agreed
    }


def adopt_unanimous(store: Store, recorded_by: str | None = None) -> int:
    """Record the shared codes of every unanimous unit as its consensus, in one transaction."""
    agreed = unanimous_without_consensus(store)
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


# -- audit ---------------------------------------------------------------------------------------
def judge_role(store: Store, name: str) -> str | None:
    with store.session() as s:
        return s.scalar(select(Judge.role).where(Judge.name == name))


def audit_targets(store: Store) -> list[AuditTarget]:
    """Units with consensus codes (transcript order), then the current core ideas."""
    consensus = store.consensus()
    items = {item.key: item for item in coding_queue(store)}
    with store.session() as s:
        unit_ids = dict(s.execute(select(ThoughtUnitRow.key, ThoughtUnitRow.id)).all())
        superseded = set(s.scalars(select(CoreIdea.supersedes_id).where(CoreIdea.supersedes_id.is_not(None))))
        ideas = s.execute(
            select(CoreIdea, Case.key)
            .join(Case, Case.id == CoreIdea.case_id)
            .order_by(Case.key, CoreIdea.domain, CoreIdea.id)
        ).all()
    targets = [
        AuditTarget("unit", unit_ids[key], item.case, f"unit {key}", item.text, consensus[key], item.question)
        for key, item in items.items()
        if key in consensus
    ]
    targets += [
        AuditTarget(
            "core_idea",
            idea.id,
            case_key,
            f"core idea · case {case_key} · {idea.domain}",
            idea.text,
            frozenset({idea.domain}),
            idea.status,
        )
        for idea, case_key in ideas
        if idea.id not in superseded
    ]
    return targets


def comments(store: Store, target_type: str, target_id: int) -> list[Comment]:
    """The comment thread on one target, oldest first (replies point at what they answer)."""
    with store.session() as s:
        rows = s.execute(
            select(AuditComment, Judge.name, Judge.role)
            .join(Judge, Judge.id == AuditComment.author_id)
            .where(AuditComment.target_type == target_type, AuditComment.target_id == target_id)
            .order_by(AuditComment.id)
        ).all()
    return [
        Comment(c.id, name, role, c.text, c.reply_to_id, c.resolution, c.rationale) for c, name, role in rows
    ]


def add_comment(
    store: Store,
    author: str,
    target_type: str,
    target_id: int,
    text: str,
    reply_to: int | None = None,
    role: str = "judge",
) -> int:
    """An auditor's comment, or (``reply_to``) the team's answer to one; one transaction."""
    if target_type not in ("unit", "core_idea", "category"):
        raise StoreError(f"cannot comment on {target_type!r}")
    text = text.strip()
    if not text:
        raise StoreError("an empty comment is not saved")
    author_id = store.judge(author, role)
    with store.sessions.begin() as s:
        if reply_to is not None:
            parent = s.get(AuditComment, reply_to)
            if parent is None or (parent.target_type, parent.target_id) != (target_type, target_id):
                raise StoreError(f"comment {reply_to} is not on this {target_type}")
        row = AuditComment(
            project_id=store.project_id(s),
            target_type=target_type,
            target_id=target_id,
            author_id=author_id,
            text=text,
            reply_to_id=reply_to,
        )
        s.add(row)
        s.flush()
        return row.id


def resolve_comment(store: Store, comment_id: int, resolution: str, rationale: str | None = None) -> None:
    """The team's verdict on an auditor's comment: ``accepted`` or ``rejected``, with why."""
    if resolution not in ("accepted", "rejected"):
        raise StoreError(f"resolution must be accepted or rejected, not {resolution!r}")
    with store.sessions.begin() as s:
        row = s.get(AuditComment, comment_id)
        if row is None:
            raise StoreError(f"no audit comment {comment_id}")
        row.resolution = resolution
        row.rationale = rationale


def consensus_notes(store: Store) -> dict[str, str]:
    """The note kept with each unit's consensus codes."""
    with store.session() as s:
        rows = s.execute(
            select(ThoughtUnitRow.key, ConsensusCode.note)
            .join(ConsensusCode, ConsensusCode.unit_id == ThoughtUnitRow.id)
            .where(ConsensusCode.note.is_not(None))
        ).all()
    return dict(rows)


def ratings_records(store: Store) -> list[tuple[str, str, str | None]]:
    """Every judge's current codes as ``(unit, judge, code)`` records for the agreement report.

    "other" becomes a record with no code (rated, no domain); emptied units are left out.
    """
    out = []
    for name, codes in sorted(store.all_judge_codes().items()):
        for key, given in sorted(codes.items()):
            if not is_coded(given):
                continue
            domains = sorted(given - {OTHER})
            out += [(key, name, d) for d in domains] or [(key, name, None)]
    return out
