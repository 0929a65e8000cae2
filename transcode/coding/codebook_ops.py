"""`transcode codebook`: the current codebook with what holds codes in it, what a new one would
change, and applying it with rename, merge, split and retire (:mod:`transcode.codebook_changes`).

An apply is one transaction and one ``codebook`` event in the trail (who, when, which operations,
how many codes each moved). Judges' decisions stay as they were made (the log is append-only):
their codes follow the operations through the new version's recorded changes
(:meth:`Store.domain_map`). The team's rows follow in place: consensus codes, model proposals,
core ideas and cross-analysis categories. A split queues every unit coded with the split domain
for the judge who coded it (while its case is independent) and for the team's consensus.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, exists, func, select, update
from sqlalchemy.orm import Session

from transcode.codebook import Codebook
from transcode.codebook_changes import (
    MERGE,
    RENAME,
    RETIRE,
    SPLIT,
    CodebookDiff,
    DomainMap,
    Operation,
    check_operations,
    diff,
)
from transcode.coding import people, phases
from transcode.coding.codes import OTHER, current_codes
from transcode.errors import InputError, PhaseError, StoreError
from transcode.store import Store
from transcode.store.repo import registered_judge
from transcode.store.schema import (
    Case,
    Category,
    CodebookRecode,
    CodebookVersion,
    CodeDecision,
    ConsensusCode,
    CoreIdea,
    CoreIdeaCategory,
    Judge,
    Proposal,
    ThoughtUnitRow,
)

#: The kinds of code a domain holds, as ``show``, ``diff`` and the trail count them.
HOLDINGS = ("judge_codes", "consensus_codes", "proposals", "core_ideas", "categories")


@dataclass(frozen=True)
class DomainCounts:
    id: str
    name: str
    judge_codes: int
    consensus_codes: int

    def as_dict(self) -> dict:
        return dict(self.__dict__)


@dataclass(frozen=True)
class CodebookView:
    """The current version with per-domain counts. Judges' codes are counted only in cases past
    independent coding (while a case is coded blind nobody learns from here what others chose)."""

    version: int
    name: str
    domains: tuple[DomainCounts, ...]
    #: Units whose consensus code was split, still to be coded again by the team, per old domain.
    recode: dict[str, int]
    blind_cases: int
    history: tuple[dict, ...]

    def as_dict(self) -> dict:
        return {
            "version": self.version,
            "name": self.name,
            "domains": [d.as_dict() for d in self.domains],
            "recode": dict(self.recode),
            "blind_cases": self.blind_cases,
            "history": list(self.history),
        }


@dataclass(frozen=True)
class Recode:
    """A unit to code again after its domain was split: ``judge`` None is the team's consensus."""

    unit: str
    case: str
    judge: str | None
    domain: str
    into: tuple[str, ...]
    version: int


@dataclass(frozen=True)
class Applied:
    version: int
    operations: tuple[dict, ...]
    added: tuple[str, ...]
    removed: tuple[str, ...]

    def as_dict(self) -> dict:
        return {
            "version": self.version,
            "operations": list(self.operations),
            "added": list(self.added),
            "removed": list(self.removed),
        }


def _current(store: Store) -> tuple[Codebook, int]:
    book, version = store.codebook(), store.codebook_version()
    if book is None or version is None:
        raise StoreError("the store holds no codebook yet; give one with `transcode init --codebook FILE`")
    return book, version


def _judge_codes(s: Session, dmap: DomainMap, cases: Sequence[int] | None = None) -> dict:
    """Every judge's current codes in the current codebook: {(judge_id, unit_id): codes}."""
    query = (
        select(CodeDecision.judge_id, CodeDecision.unit_id, CodeDecision.domain, CodeDecision.action)
        .join(Judge, Judge.id == CodeDecision.judge_id)
        .where(Judge.role.in_(people.CODING_ROLES))
        .order_by(CodeDecision.id)
    )
    if cases is not None:
        query = query.join(ThoughtUnitRow, ThoughtUnitRow.id == CodeDecision.unit_id).where(
            ThoughtUnitRow.case_id.in_(list(cases))
        )
    rows = s.execute(query).all()
    folded = current_codes(((j, u), d, a) for j, u, d, a in rows)
    return {pair: dmap.codes(codes) for pair, codes in folded.items()}


def _holdings(s: Session, dmap: DomainMap, cases: Sequence[int] | None = None) -> dict[str, Counter]:
    """{domain: {kind: count}} for every kind of code (judges' codes in ``cases``, or all)."""
    out: dict[str, Counter] = defaultdict(Counter)
    for codes in _judge_codes(s, dmap, cases).values():
        for domain in codes - {OTHER}:
            out[domain]["judge_codes"] += 1
    for kind, column in (
        ("consensus_codes", ConsensusCode.domain),
        ("proposals", Proposal.domain),
        ("core_ideas", CoreIdea.domain),
        ("categories", Category.domain),
    ):
        for domain, n in s.execute(select(column, func.count()).group_by(column)):
            out[domain][kind] += n
    return out


def pending_recodes(store: Store, judge: str | None = None, *, team: bool = False) -> list[Recode]:
    """Units still to code again after a split: one judge's (``judge``), or the team's (``team``).

    A judge's entry is settled by their next decision on the unit, the team's by its next consensus.
    """
    with store.session() as s:
        query = (
            select(CodebookRecode, ThoughtUnitRow.key, Case.key, Judge.name)
            .join(ThoughtUnitRow, ThoughtUnitRow.id == CodebookRecode.unit_id)
            .join(Case, Case.id == ThoughtUnitRow.case_id)
            .outerjoin(Judge, Judge.id == CodebookRecode.judge_id)
            .order_by(Case.key, ThoughtUnitRow.position, CodebookRecode.id)
        )
        if team:
            # consensus rows are replaced, not appended (their ids may come again): settled by time
            made = (
                select(CodebookVersion.created_at)
                .where(CodebookVersion.version == CodebookRecode.codebook_version)
                .correlate(CodebookRecode)
                .scalar_subquery()
            )
            query = query.where(
                CodebookRecode.judge_id.is_(None),
                ~exists().where(
                    ConsensusCode.unit_id == CodebookRecode.unit_id, ConsensusCode.created_at > made
                ),
            )
        else:
            judge_id = registered_judge(s, judge or "").id
            query = query.where(
                CodebookRecode.judge_id == judge_id,
                ~exists().where(
                    CodeDecision.unit_id == CodebookRecode.unit_id,
                    CodeDecision.judge_id == judge_id,
                    CodeDecision.id > CodebookRecode.after_id,
                ),
            )
        rows = s.execute(query).all()
    return [
        Recode(unit, case, name, row.domain, tuple(row.into), row.codebook_version)
        for row, unit, case, name in rows
    ]


def proposals_stale(store: Store) -> bool:
    """Whether the stored proposals come from a model of an older codebook than the current one
    (made before the latest ``codebook apply``): the coding room retrains then."""
    with store.session() as s:
        latest = s.execute(
            select(CodebookVersion.created_at, CodebookVersion.changes).order_by(
                CodebookVersion.version.desc()
            )
        ).first()
        if latest is None or not latest.changes:
            return False
        return s.scalar(select(exists().where(Proposal.created_at < latest.created_at))) or False


def show(store: Store) -> CodebookView:
    """The current version, per domain the judges' codes (cases past independent) and the team's."""
    book, version = _current(store)
    dmap = store.domain_map()
    case_phases = store.case_phases()
    with store.session() as s:
        opened = list(s.scalars(select(Case.id).where(Case.phase.in_(phases.OPENED))))
        held = _holdings(s, dmap, opened)
    domains = tuple(
        DomainCounts(d.id, d.name, held[d.id]["judge_codes"], held[d.id]["consensus_codes"])
        for d in book.domains
    )
    history = tuple(
        {
            "version": v.version,
            "name": v.name,
            "time": v.time.isoformat(),
            "by": (v.changes or {}).get("by"),
            "operations": list((v.changes or {}).get("operations", [])),
        }
        for v in store.codebook_versions()
    )
    recode = Counter(r.domain for r in pending_recodes(store, team=True))
    blind = sum(p == phases.INDEPENDENT for p in case_phases.values())
    return CodebookView(version, book.name, domains, dict(recode), blind, history)


def plan(store: Store, new: Codebook, operations: Sequence[Operation] = ()) -> CodebookDiff:
    """What ``new`` would change against the current version, and the codes it would orphan.

    Reads every judge's codes to count them: a lead's tool (``--by LEAD``), like an unlock.
    """
    old, _ = _current(store)
    dmap = store.domain_map()
    check_operations(old, new, operations, dmap.retired_ids)
    with store.session() as s:
        held = _holdings(s, dmap)
    return diff(old, new, held, operations)


def _refuse_orphans(result: CodebookDiff) -> None:
    if result.orphaned:
        named = "; ".join(
            f"{domain!r} holds " + ", ".join(f"{n} {kind.replace('_', ' ')}" for kind, n in counts.items())
            for domain, counts in result.orphaned.items()
        )
        raise StoreError(
            f"the new codebook would orphan codes: {named}; say what becomes of them "
            "(--rename, --merge, --split or --retire)"
        )


def _require_owner_view(store: Store) -> None:
    """On PostgreSQL a person's role sees only some judges' codes: counting them needs the owner."""
    connected = store.connected_judge()
    if connected is not None:
        raise PhaseError(
            f"this connection is {connected}'s database role, which cannot see every judge's codes; "
            "change the codebook with the study owner's connection (and --by LEAD)"
        )


def apply(store: Store, new: Codebook, operations: Sequence[Operation], by: str) -> Applied:
    """Make ``new`` the current version, carrying every code along ``operations``; one transaction.

    Refused (nothing changed) when an operation cannot hold or a code would be orphaned.
    """
    people.require(store, by, people.LEAD, doing="changing the codebook")
    _require_owner_view(store)
    old, version = _current(store)
    result = plan(store, new, operations)
    _refuse_orphans(result)
    if new.fingerprint() == old.fingerprint() and not operations:
        raise InputError(f"nothing to apply: the codebook is the same as v{version}", new.source)
    dmap = store.domain_map()
    with store.sessions.begin() as s:
        project_id = store.project_id(s)
        lead_id = registered_judge(s, by).id
        after_decision = s.scalar(select(func.max(CodeDecision.id))) or 0
        latest = s.scalar(select(func.max(CodebookVersion.version))) or 0
        if latest != version:
            raise StoreError(f"the codebook changed meanwhile (now v{latest}); look at the diff again")
        independent = set(s.scalars(select(Case.id).where(Case.phase == phases.INDEPENDENT)))
        judged = _judge_codes(s, dmap)
        unit_case = dict(s.execute(select(ThoughtUnitRow.id, ThoughtUnitRow.case_id)).all())
        done = []
        for op in operations:
            moved = _apply_one(s, op, judged, unit_case, independent, version + 1, after_decision)
            done.append({**op.as_dict(), "moved": moved})
        covered = {source for op in operations for source in op.sources}
        _drop_proposals(s, [d for d in result.removed if d not in covered])
        changes = {"operations": done, "after_decision": after_decision, "by": by}
        s.add(
            CodebookVersion(
                project_id=project_id,
                version=version + 1,
                name=new.name,
                fingerprint=new.fingerprint(),
                body=new.to_dict(),
                changes=changes,
            )
        )
        added = [d for d in result.added if not any(d in o.targets for o in operations)]
        details = {
            "from_version": version,
            "to_version": version + 1,
            "operations": done,
            "added": added,
            "removed": list(result.removed),
        }
        store._event(s, project_id, "codebook", lead_id, None, details)
    return Applied(version + 1, tuple(done), tuple(added), result.removed)


def _apply_one(
    s: Session,
    op: Operation,
    judged: dict,
    unit_case: dict[int, int],
    independent: set[int],
    version: int,
    after_decision: int,
) -> dict[str, int]:
    sources = list(op.sources)
    target = op.targets[0] if op.targets else None
    moved: Counter = Counter()
    moved["judge_codes"] = sum(1 for codes in judged.values() for domain in codes if domain in op.sources)
    consensus_units = s.execute(
        select(ConsensusCode.id, ConsensusCode.unit_id, ConsensusCode.domain).where(
            ConsensusCode.domain.in_(sources)
        )
    ).all()
    moved["consensus_codes"] = len(consensus_units)
    if op.kind in (RENAME, MERGE):
        assert target is not None
        _move_rows(s, ConsensusCode, sources, target)
        moved["proposals"] = _move_rows(s, Proposal, sources, target)
    else:
        moved["proposals"] = s.execute(delete(Proposal).where(Proposal.domain.in_(sources))).rowcount or 0  # type: ignore[attr-defined]
        s.execute(delete(ConsensusCode).where(ConsensusCode.domain.in_(sources)))
    if op.kind == SPLIT:
        recode = [
            CodebookRecode(
                unit_id=unit_id, judge_id=judge_id, codebook_version=version, domain=sources[0],
                into=list(op.targets), after_id=after_decision,
            )
            for (judge_id, unit_id), codes in sorted(judged.items())
            if sources[0] in codes and unit_case.get(unit_id) in independent
        ]  # fmt: skip
        recode += [
            CodebookRecode(
                unit_id=unit_id, judge_id=None, codebook_version=version, domain=sources[0],
                into=list(op.targets), after_id=0,
            )
            for unit_id in sorted({unit_id for _, unit_id, _ in consensus_units})
        ]  # fmt: skip
        s.add_all(recode)
        moved["recode"] = len(recode)
    if op.kind != RETIRE:
        assert target is not None
        moved["core_ideas"] = _count_update(s, CoreIdea, sources, target)
        moved["categories"] = _move_categories(s, sources, target)
    return dict(moved)


def _move_rows(
    s: Session, table: type[ConsensusCode] | type[Proposal], sources: list[str], target: str
) -> int:
    """Give ``sources``' rows to ``target``; a unit that already holds ``target`` keeps one row."""
    rows: Sequence[Any] = s.scalars(
        select(table).where(table.domain.in_([*sources, target])).order_by(table.id)
    ).all()
    kept: set[int] = set()
    moved = 0
    for row in rows:
        if row.unit_id in kept:
            s.delete(row)
            continue
        kept.add(row.unit_id)
        if row.domain != target:
            row.domain = target
            moved += 1
    s.flush()
    return moved


def _drop_proposals(s: Session, domains: Sequence[str]) -> None:
    """Proposals of domains that left the codebook holding no code (the model is retrained)."""
    if domains:
        s.execute(delete(Proposal).where(Proposal.domain.in_(list(domains))))


def _count_update(s: Session, table: type[CoreIdea], sources: list[str], target: str) -> int:
    result = s.execute(update(table).where(table.domain.in_(sources)).values(domain=target))
    return result.rowcount or 0  # type: ignore[attr-defined]


def _move_categories(s: Session, sources: list[str], target: str) -> int:
    """Categories follow their domain; a top-level category whose name the target already has
    becomes that one (its core ideas and subcategories move to it)."""
    existing = {
        c.name.casefold(): c
        for c in s.scalars(
            select(Category)
            .where(Category.domain == target, Category.parent_id.is_(None))
            .order_by(Category.id)
        )
    }
    moved = 0
    for category in s.scalars(
        select(Category).where(Category.domain.in_(sources)).order_by(Category.id)
    ).all():
        moved += 1
        twin = existing.get(category.name.casefold()) if category.parent_id is None else None
        if twin is None:
            category.domain = target
            if category.parent_id is None:
                existing[category.name.casefold()] = category
            continue
        s.execute(update(Category).where(Category.parent_id == category.id).values(parent_id=twin.id))
        taken = set(
            s.scalars(select(CoreIdeaCategory.core_idea_id).where(CoreIdeaCategory.category_id == twin.id))
        )
        for link in s.scalars(
            select(CoreIdeaCategory).where(CoreIdeaCategory.category_id == category.id)
        ).all():
            if link.core_idea_id in taken:
                s.delete(link)
            else:
                link.category_id = twin.id
        s.flush()
        s.delete(category)
    s.flush()
    return moved


def store_initial_or_compatible(store: Store, new: Codebook) -> int:
    """``transcode init --codebook``: store ``new`` as a version when it orphans no code (it may add
    domains, reword them, or drop domains nobody used); else refused, pointing at ``codebook apply``."""
    old, version = store.codebook(), store.codebook_version()
    if old is None or version is None:
        return store.save_codebook(new)
    if old.fingerprint() == new.fingerprint():
        return version
    dmap = store.domain_map()
    check_operations(old, new, (), dmap.retired_ids)
    with store.session() as s:
        result = diff(old, new, _holdings(s, dmap))
    if result.orphaned:
        named = ", ".join(repr(d) for d in result.orphaned)
        raise StoreError(
            f"the new codebook drops {named}, which hold codes; change it with "
            "`transcode codebook apply FILE --by LEAD` and --rename, --merge, --split or --retire"
        )
    with store.sessions.begin() as s:
        after_decision = s.scalar(select(func.max(CodeDecision.id))) or 0
        changes: dict = {"operations": [], "after_decision": after_decision, "by": None, "via": "init"}
        new_version = store._save_codebook(s, new, changes)
        _drop_proposals(s, list(result.removed))
        details = {
            "from_version": version,
            "to_version": new_version,
            "operations": [],
            "added": list(result.added),
            "removed": list(result.removed),
            "via": "init",
        }
        store._event(s, store.project_id(s), "codebook", None, None, details)
    return new_version
