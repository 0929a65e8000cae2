"""Core ideas per case x domain: versions, machine drafts, consensus wording, and importing them.

Core ideas are versioned: a revision is a new row that supersedes the one it
revises, so the history of a core idea is the chain of rows from its first
version to its newest. A version becomes the team's agreed wording only when
marked ``consensus``; the cross-analysis counts, per chain, the newest version so
marked, with the categories coded on it. Machine drafts (status
``machine_draft``) are starting points: they are never counted, categorised or
marked consensus; accepting one creates a person-authored version. Each function
that writes is one transaction, so a failed action leaves nothing behind.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from transcode.analysis._lookup import (
    case_row,
    category_row,
    check_domain,
    clean_text,
    idea_row,
    link_units,
    require_head,
    unit_rows,
)
from transcode.errors import InputError, StoreError
from transcode.store import Store
from transcode.store.repo import ensure_judge
from transcode.store.schema import (
    Case,
    ConsensusCode,
    CoreIdea,
    CoreIdeaCategory,
    CoreIdeaUnit,
    Judge,
    ThoughtUnitRow,
)

MACHINE_DRAFT, DRAFT, CONSENSUS = "machine_draft", "draft", "consensus"
STATUSES = (MACHINE_DRAFT, DRAFT, CONSENSUS)


@dataclass(frozen=True)
class ConfirmedUnit:
    """A thought unit whose consensus codes include the domain being summarised."""

    key: str
    case: str
    position: int
    text: str
    domains: frozenset[str]


@dataclass(frozen=True)
class CoreIdeaVersion:
    """One version of a core idea, with where it sits in its chain."""

    id: int
    case: str
    domain: str
    text: str
    status: str
    author: str | None
    supersedes: int | None
    superseded_by: int | None
    root: int
    units: tuple[str, ...]
    categories: tuple[int, ...]
    counted: bool
    created_at: datetime | None = None

    def as_dict(self) -> dict:
        out = dict(self.__dict__)
        out["units"] = list(self.units)
        out["categories"] = list(self.categories)
        out["created_at"] = self.created_at.isoformat() if self.created_at else None
        return out


# -- gathering the confirmed units -----------------------------------------------------------------
def confirmed_units(store: Store, case: str, domain: str) -> list[ConfirmedUnit]:
    """The units of ``case`` whose consensus codes include ``domain``, in transcript order."""
    with store.session() as s:
        project_id = store.project_id(s)
        found_case = case_row(s, project_id, case)
        check_domain(store, s, domain)
        rows = s.execute(
            select(ThoughtUnitRow, ConsensusCode.domain)
            .join(ConsensusCode, ConsensusCode.unit_id == ThoughtUnitRow.id)
            .where(ThoughtUnitRow.case_id == found_case.id)
            .order_by(ThoughtUnitRow.position)
        ).all()
    domains: dict[int, set[str]] = defaultdict(set)
    units: dict[int, ThoughtUnitRow] = {}
    for unit, code in rows:
        domains[unit.id].add(code)
        units[unit.id] = unit
    return [
        ConfirmedUnit(u.key, case, u.position, u.text, frozenset(domains[u.id]))
        for u in units.values()
        if domain in domains[u.id]
    ]


def units_by_case_and_domain(store: Store) -> dict[tuple[str, str], list[ConfirmedUnit]]:
    """Every case x domain with confirmed units: the worklist for writing core ideas."""
    with store.session() as s:
        rows = s.execute(
            select(ThoughtUnitRow, Case.key, ConsensusCode.domain)
            .join(Case, Case.id == ThoughtUnitRow.case_id)
            .join(ConsensusCode, ConsensusCode.unit_id == ThoughtUnitRow.id)
            .order_by(Case.key, ThoughtUnitRow.position)
        ).all()
    codes: dict[int, set[str]] = defaultdict(set)
    for unit, _, code in rows:
        codes[unit.id].add(code)
    out: dict[tuple[str, str], list[ConfirmedUnit]] = defaultdict(list)
    seen: set[int] = set()
    for unit, case, _ in rows:
        if unit.id in seen:
            continue
        seen.add(unit.id)
        for domain in sorted(codes[unit.id] - {"other"}):
            out[(case, domain)].append(
                ConfirmedUnit(unit.key, case, unit.position, unit.text, frozenset(codes[unit.id]))
            )
    return dict(out)


# -- core ideas --------------------------------------------------------------------------------------
def add_core_idea(
    store: Store,
    case: str,
    domain: str,
    text: str,
    units: Sequence[str],
    author: str,
    *,
    consensus: bool = False,
) -> int:
    """A person's core idea for ``case`` x ``domain``, linked to the units it summarises."""
    text = clean_text(text)
    if not units:
        raise InputError("a core idea must be linked to the units it summarises (--unit KEY)")
    with store.sessions.begin() as s:
        project_id = store.project_id(s)
        found_case = case_row(s, project_id, case)
        check_domain(store, s, domain)
        rows = unit_rows(s, found_case.id, units)
        author_id = ensure_judge(s, project_id, author)
        idea = CoreIdea(
            case_id=found_case.id,
            domain=domain,
            text=text,
            status=CONSENSUS if consensus else DRAFT,
            author_id=author_id,
        )
        s.add(idea)
        s.flush()
        link_units(s, idea.id, rows)
        return idea.id


def save_machine_draft(store: Store, case: str, domain: str, text: str, units: Sequence[str]) -> int:
    """Store a machine-written draft: authored by nobody, never counted until a person accepts it."""
    text = clean_text(text, "draft")
    with store.sessions.begin() as s:
        project_id = store.project_id(s)
        found_case = case_row(s, project_id, case)
        check_domain(store, s, domain)
        rows = unit_rows(s, found_case.id, units)
        idea = CoreIdea(case_id=found_case.id, domain=domain, text=text, status=MACHINE_DRAFT, author_id=None)
        s.add(idea)
        s.flush()
        link_units(s, idea.id, rows)
        return idea.id


def _new_version(
    s: Session,
    project_id: int,
    previous: CoreIdea,
    text: str,
    author: str,
    units: Sequence[str] | None,
    status: str,
) -> int:
    if units:
        rows = unit_rows(s, previous.case_id, units)
        unit_ids = [u.id for u in rows]
    else:
        unit_ids = list(
            s.scalars(select(CoreIdeaUnit.unit_id).where(CoreIdeaUnit.core_idea_id == previous.id))
        )
    author_id = ensure_judge(s, project_id, author)
    idea = CoreIdea(
        case_id=previous.case_id,
        domain=previous.domain,
        text=text,
        status=status,
        author_id=author_id,
        supersedes_id=previous.id,
    )
    s.add(idea)
    s.flush()
    s.add_all(CoreIdeaUnit(core_idea_id=idea.id, unit_id=u) for u in unit_ids)
    # The coding travels with the wording: a revision keeps its categories and who decided them.
    for link in s.scalars(select(CoreIdeaCategory).where(CoreIdeaCategory.core_idea_id == previous.id)):
        s.add(
            CoreIdeaCategory(
                core_idea_id=idea.id, category_id=link.category_id, decided_by_id=link.decided_by_id
            )
        )
    return idea.id


def revise_core_idea(
    store: Store, idea_id: int, text: str, author: str, units: Sequence[str] | None = None
) -> int:
    """A new version superseding ``idea_id`` (its current version); the old one stays in the history."""
    text = clean_text(text)
    with store.sessions.begin() as s:
        project_id = store.project_id(s)
        previous = idea_row(s, idea_id)
        require_head(s, previous, "revise")
        if previous.status == MACHINE_DRAFT:
            raise StoreError(f"core idea {idea_id} is a machine draft: accept it (with your wording) instead")
        return _new_version(s, project_id, previous, text, author, units, DRAFT)


def accept_machine_draft(
    store: Store, idea_id: int, judge: str, text: str | None = None, *, consensus: bool = False
) -> int:
    """A person takes a machine draft as their own version (edited or as is); the draft stays as history."""
    with store.sessions.begin() as s:
        project_id = store.project_id(s)
        draft = idea_row(s, idea_id)
        if draft.status != MACHINE_DRAFT:
            raise StoreError(f"core idea {idea_id} is not a machine draft (status {draft.status})")
        require_head(s, draft, "accept")
        wording = clean_text(text) if text is not None else draft.text
        return _new_version(s, project_id, draft, wording, judge, None, CONSENSUS if consensus else DRAFT)


def mark_consensus(store: Store, idea_id: int) -> None:
    """Mark the current version of a core idea as the team's consensus wording."""
    with store.sessions.begin() as s:
        idea = idea_row(s, idea_id)
        require_head(s, idea, "mark")
        if idea.status == MACHINE_DRAFT:
            raise StoreError(f"core idea {idea_id} is a machine draft: a person must accept it first")
        idea.status = CONSENSUS


def _versions(s: Session, ideas: Sequence[CoreIdea]) -> list[CoreIdeaVersion]:
    """Chain-aware views of the given rows (the chains are read in full to place each row)."""
    all_rows = {i.id: i for i in s.scalars(select(CoreIdea))}
    successor = {i.supersedes_id: i.id for i in all_rows.values() if i.supersedes_id is not None}
    root_of: dict[int, int] = {}
    for idea_id in all_rows:
        cursor = idea_id
        while (parent := all_rows[cursor].supersedes_id) is not None:
            cursor = parent
        root_of[idea_id] = cursor
    counted: dict[int, int] = {}
    for idea in sorted(all_rows.values(), key=lambda i: i.id):
        if idea.status == CONSENSUS:
            counted[root_of[idea.id]] = idea.id
    ids = [i.id for i in ideas]
    units: dict[int, list[str]] = defaultdict(list)
    for idea_id, key in s.execute(
        select(CoreIdeaUnit.core_idea_id, ThoughtUnitRow.key)
        .join(ThoughtUnitRow, ThoughtUnitRow.id == CoreIdeaUnit.unit_id)
        .where(CoreIdeaUnit.core_idea_id.in_(ids))
        .order_by(ThoughtUnitRow.position)
    ):
        units[idea_id].append(key)
    categories: dict[int, list[int]] = defaultdict(list)
    for idea_id, category_id in s.execute(
        select(CoreIdeaCategory.core_idea_id, CoreIdeaCategory.category_id)
        .where(CoreIdeaCategory.core_idea_id.in_(ids))
        .order_by(CoreIdeaCategory.category_id)
    ):
        categories[idea_id].append(category_id)
    cases = dict(s.execute(select(Case.id, Case.key)).all())
    judges = dict(s.execute(select(Judge.id, Judge.name)).all())
    return [
        CoreIdeaVersion(
            id=i.id,
            case=cases[i.case_id],
            domain=i.domain,
            text=i.text,
            status=i.status,
            author=judges.get(i.author_id) if i.author_id is not None else None,
            supersedes=i.supersedes_id,
            superseded_by=successor.get(i.id),
            root=root_of[i.id],
            units=tuple(units[i.id]),
            categories=tuple(categories[i.id]),
            counted=counted.get(root_of[i.id]) == i.id,
            created_at=i.created_at,
        )
        for i in ideas
    ]


def core_ideas(
    store: Store,
    case: str | None = None,
    domain: str | None = None,
    *,
    all_versions: bool = False,
    counted_only: bool = False,
) -> list[CoreIdeaVersion]:
    """Core ideas by case and domain: current versions (or every version), or only those counted."""
    with store.session() as s:
        project_id = store.project_id(s)
        query = select(CoreIdea).join(Case, Case.id == CoreIdea.case_id).where(Case.project_id == project_id)
        if case is not None:
            query = query.where(CoreIdea.case_id == case_row(s, project_id, case).id)
        if domain is not None:
            check_domain(store, s, domain)
            query = query.where(CoreIdea.domain == domain)
        rows = list(s.scalars(query.order_by(Case.key, CoreIdea.domain, CoreIdea.id)))
        versions = _versions(s, rows)
    if counted_only:
        return [v for v in versions if v.counted]
    if all_versions:
        return versions
    return [v for v in versions if v.superseded_by is None or v.counted]


def history(store: Store, idea_id: int) -> list[CoreIdeaVersion]:
    """Every version of the core idea ``idea_id`` belongs to, oldest first."""
    with store.session() as s:
        idea_row(s, idea_id)
        rows = list(s.scalars(select(CoreIdea).order_by(CoreIdea.id)))
        versions = {v.id: v for v in _versions(s, rows)}
    root = versions[idea_id].root
    return [v for v in versions.values() if v.root == root]


# -- import from files ---------------------------------------------------------------------------------
_REF = re.compile(r"^[A-Za-z0-9_.:-]+$")


def import_core_ideas(store: Store, records: Sequence[Mapping], author: str) -> dict[str, int]:
    """Load consensus core ideas ``{id, case, domain, text, units, categories?, status?}`` in one transaction.

    ``categories`` name categories of the idea's domain (they must exist). Returns the file ids
    mapped to store ids. Any bad record stops the import with nothing saved.
    """
    created: dict[str, int] = {}
    with store.sessions.begin() as s:
        project_id = store.project_id(s)
        default_author = ensure_judge(s, project_id, author)
        for number, record in enumerate(records, start=1):
            try:
                ref = str(record.get("id") or number)
                if not _REF.match(ref) or ref in created:
                    raise InputError(f"core idea id {ref!r} is not a unique plain id")
                status = record.get("status") or CONSENSUS
                if status not in (DRAFT, CONSENSUS):
                    raise InputError(f"status must be draft or consensus, not {status!r}")
                found_case = case_row(s, project_id, str(record.get("case") or ""))
                domain = str(record.get("domain") or "")
                check_domain(store, s, domain)
                units = [str(u) for u in record.get("units") or []]
                if not units:
                    raise InputError("a core idea must list the units it summarises")
                rows = unit_rows(s, found_case.id, units)
                judge_id = (
                    ensure_judge(s, project_id, record["author"]) if record.get("author") else default_author
                )
                idea = CoreIdea(
                    case_id=found_case.id,
                    domain=domain,
                    text=clean_text(str(record.get("text") or "")),
                    status=status,
                    author_id=judge_id,
                )
                s.add(idea)
                s.flush()
                link_units(s, idea.id, rows)
                for name in record.get("categories") or []:
                    category = category_row(s, project_id, str(name), domain)
                    s.add(
                        CoreIdeaCategory(
                            core_idea_id=idea.id, category_id=category.id, decided_by_id=judge_id
                        )
                    )
                created[ref] = idea.id
            except InputError as err:
                raise err.at(line=number) from None
    return created
