"""Store operations for the analysis after domaining: core ideas, categories, audit, cross-analysis.

Each function takes a :class:`~transcode.store.repo.Store`; each one that writes is
one transaction, so a failed action leaves nothing behind.

Core ideas are versioned: a revision is a new row that supersedes the one it
revises, so the history of a core idea is the chain of rows from its first
version to its newest. A version becomes the team's agreed wording only when
marked ``consensus``; the cross-analysis counts, per chain, the newest version so
marked, with the categories coded on it. Machine drafts (status
``machine_draft``) are starting points: they are never counted, categorised or
marked consensus; accepting one creates a person-authored version.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from transcode.codebook import Codebook
from transcode.cross.analysis import DEFAULT_OTHER_NAMES, Membership
from transcode.errors import InputError
from transcode.store.repo import Store
from transcode.store.schema import (
    AuditComment,
    Case,
    Category,
    ConsensusCode,
    CoreIdea,
    CoreIdeaCategory,
    CoreIdeaUnit,
    Judge,
    ThoughtUnitRow,
)

MACHINE_DRAFT, DRAFT, CONSENSUS = "machine_draft", "draft", "consensus"
STATUSES = (MACHINE_DRAFT, DRAFT, CONSENSUS)
COMMENT_TARGETS = ("unit", "core_idea", "category")
RESOLUTIONS = ("accepted", "rejected")


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


@dataclass(frozen=True)
class CategoryInfo:
    """A category or subcategory with the counted core ideas and distinct cases coded into it."""

    id: int
    domain: str
    name: str
    parent_id: int | None
    parent: str | None
    is_other: bool
    created_by: str | None
    core_ideas: tuple[int, ...] = ()
    cases: tuple[str, ...] = ()
    subcategories: tuple[int, ...] = field(default=())

    def as_dict(self) -> dict:
        out = dict(self.__dict__)
        for key in ("core_ideas", "cases", "subcategories"):
            out[key] = list(out[key])
        return out


@dataclass(frozen=True)
class CrossInputs:
    """What the cross-analysis needs from the store: memberships, the sample, and ordering hints."""

    memberships: list[Membership]
    cases: dict[str, dict[str, str]]
    domain_order: tuple[str, ...]
    other_names: frozenset[str]


# -- helpers inside a session ---------------------------------------------------------------------
def _project_id(store: Store, s: Session) -> int:
    return store.project_id(s)


def _judge_id(s: Session, project_id: int, name: str, role: str = "judge") -> int:
    """The judge's id, created in this same transaction when new (so a failed action adds nobody)."""
    name = (name or "").strip()
    if not name:
        raise InputError("a person must be named (--judge NAME): the store keeps who decided")
    judge = s.scalars(select(Judge).where(Judge.project_id == project_id, Judge.name == name)).first()
    if judge is None:
        judge = Judge(project_id=project_id, name=name, role=role)
        s.add(judge)
        s.flush()
    return judge.id


def _case(s: Session, project_id: int, key: str) -> Case:
    case = s.scalars(select(Case).where(Case.project_id == project_id, Case.key == key)).first()
    if case is None:
        known = s.scalars(select(Case.key).where(Case.project_id == project_id).order_by(Case.key)).all()
        raise InputError(f"unknown case {key!r} (cases: {', '.join(known[:20]) or 'none'})")
    return case


def _known_domains(store: Store, s: Session) -> list[str]:
    codebook = store.codebook()
    if codebook is not None:
        return codebook.domain_ids
    used = s.scalars(select(ConsensusCode.domain).distinct()).all()
    return sorted(set(used) - {"other"})


def _check_domain(store: Store, s: Session, domain: str) -> None:
    known = _known_domains(store, s)
    if domain not in known:
        raise InputError(f"unknown domain {domain!r} (domains: {', '.join(known) or 'none'})")


def _idea(s: Session, idea_id: int) -> CoreIdea:
    idea = s.get(CoreIdea, idea_id)
    if idea is None:
        raise InputError(f"no core idea {idea_id}")
    return idea


def _successor(s: Session, idea_id: int) -> int | None:
    return s.scalar(select(CoreIdea.id).where(CoreIdea.supersedes_id == idea_id).order_by(CoreIdea.id))


def _require_head(s: Session, idea: CoreIdea, action: str) -> None:
    newer = _successor(s, idea.id)
    if newer is not None:
        raise InputError(f"core idea {idea.id} was revised by {newer}; {action} the current version {newer}")


def _unit_rows(s: Session, case_id: int, keys: Sequence[str]) -> list[ThoughtUnitRow]:
    keys = list(dict.fromkeys(keys))
    rows = {
        u.key: u
        for u in s.scalars(
            select(ThoughtUnitRow).where(ThoughtUnitRow.case_id == case_id, ThoughtUnitRow.key.in_(keys))
        )
    }
    missing = [k for k in keys if k not in rows]
    if missing:
        raise InputError(f"unit(s) not in this case: {', '.join(missing)}")
    return [rows[k] for k in keys]


def _link_units(s: Session, idea_id: int, units: Iterable[ThoughtUnitRow]) -> None:
    s.add_all(CoreIdeaUnit(core_idea_id=idea_id, unit_id=u.id) for u in units)


def _category(s: Session, project_id: int, ref: int | str, domain: str | None = None) -> Category:
    """A category by id, or by name (case-insensitive) within ``domain``."""
    if isinstance(ref, int) or str(ref).isdigit():
        row = s.get(Category, int(ref))
        if row is None or row.project_id != project_id:
            raise InputError(f"no category {ref}")
        if domain is not None and row.domain != domain:
            raise InputError(
                f"category {row.id} ({row.name!r}) belongs to domain {row.domain!r}, not {domain!r}"
            )
        return row
    query = select(Category).where(Category.project_id == project_id)
    if domain is not None:
        query = query.where(Category.domain == domain)
    matches = [c for c in s.scalars(query) if c.name.casefold() == str(ref).strip().casefold()]
    if not matches:
        raise InputError(f"no category named {ref!r}" + (f" in domain {domain!r}" if domain else ""))
    if len(matches) > 1:
        raise InputError(f"{len(matches)} categories are named {ref!r}; give the domain or the id")
    return matches[0]


def _text(text: str, what: str = "core idea") -> str:
    text = " ".join((text or "").split())
    if not text:
        raise InputError(f"an empty {what} is not saved")
    return text


# -- gathering the confirmed units -----------------------------------------------------------------
def confirmed_units(store: Store, case: str, domain: str) -> list[ConfirmedUnit]:
    """The units of ``case`` whose consensus codes include ``domain``, in transcript order."""
    with store.session() as s:
        project_id = _project_id(store, s)
        case_row = _case(s, project_id, case)
        _check_domain(store, s, domain)
        rows = s.execute(
            select(ThoughtUnitRow, ConsensusCode.domain)
            .join(ConsensusCode, ConsensusCode.unit_id == ThoughtUnitRow.id)
            .where(ThoughtUnitRow.case_id == case_row.id)
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
    text = _text(text)
    if not units:
        raise InputError("a core idea must be linked to the units it summarises (--unit KEY)")
    with store.sessions.begin() as s:
        project_id = _project_id(store, s)
        case_row = _case(s, project_id, case)
        _check_domain(store, s, domain)
        rows = _unit_rows(s, case_row.id, units)
        author_id = _judge_id(s, project_id, author)
        idea = CoreIdea(
            case_id=case_row.id,
            domain=domain,
            text=text,
            status=CONSENSUS if consensus else DRAFT,
            author_id=author_id,
        )
        s.add(idea)
        s.flush()
        _link_units(s, idea.id, rows)
        return idea.id


def save_machine_draft(store: Store, case: str, domain: str, text: str, units: Sequence[str]) -> int:
    """Store a machine-written draft: authored by nobody, never counted until a person accepts it."""
    text = _text(text, "draft")
    with store.sessions.begin() as s:
        project_id = _project_id(store, s)
        case_row = _case(s, project_id, case)
        _check_domain(store, s, domain)
        rows = _unit_rows(s, case_row.id, units)
        idea = CoreIdea(case_id=case_row.id, domain=domain, text=text, status=MACHINE_DRAFT, author_id=None)
        s.add(idea)
        s.flush()
        _link_units(s, idea.id, rows)
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
        rows = _unit_rows(s, previous.case_id, units)
        unit_ids = [u.id for u in rows]
    else:
        unit_ids = list(
            s.scalars(select(CoreIdeaUnit.unit_id).where(CoreIdeaUnit.core_idea_id == previous.id))
        )
    author_id = _judge_id(s, project_id, author)
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
    text = _text(text)
    with store.sessions.begin() as s:
        project_id = _project_id(store, s)
        previous = _idea(s, idea_id)
        _require_head(s, previous, "revise")
        if previous.status == MACHINE_DRAFT:
            raise InputError(f"core idea {idea_id} is a machine draft: accept it (with your wording) instead")
        return _new_version(s, project_id, previous, text, author, units, DRAFT)


def accept_machine_draft(
    store: Store, idea_id: int, judge: str, text: str | None = None, *, consensus: bool = False
) -> int:
    """A person takes a machine draft as their own version (edited or as is); the draft stays as history."""
    with store.sessions.begin() as s:
        project_id = _project_id(store, s)
        draft = _idea(s, idea_id)
        if draft.status != MACHINE_DRAFT:
            raise InputError(f"core idea {idea_id} is not a machine draft (status {draft.status})")
        _require_head(s, draft, "accept")
        wording = _text(text) if text is not None else draft.text
        return _new_version(s, project_id, draft, wording, judge, None, CONSENSUS if consensus else DRAFT)


def mark_consensus(store: Store, idea_id: int) -> None:
    """Mark the current version of a core idea as the team's consensus wording."""
    with store.sessions.begin() as s:
        idea = _idea(s, idea_id)
        _require_head(s, idea, "mark")
        if idea.status == MACHINE_DRAFT:
            raise InputError(f"core idea {idea_id} is a machine draft: a person must accept it first")
        idea.status = CONSENSUS


def _versions(s: Session, ideas: Sequence[CoreIdea]) -> list[CoreIdeaVersion]:
    """Chain-aware views of the given rows (the chains are read in full to place each row)."""
    all_rows = {i.id: i for i in s.scalars(select(CoreIdea))}
    successor = {i.supersedes_id: i.id for i in all_rows.values() if i.supersedes_id is not None}
    root_of: dict[int, int] = {}
    for idea_id in all_rows:
        cursor = idea_id
        while all_rows[cursor].supersedes_id is not None:
            cursor = all_rows[cursor].supersedes_id
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
        project_id = _project_id(store, s)
        query = select(CoreIdea).join(Case, Case.id == CoreIdea.case_id).where(Case.project_id == project_id)
        if case is not None:
            query = query.where(CoreIdea.case_id == _case(s, project_id, case).id)
        if domain is not None:
            _check_domain(store, s, domain)
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
        _idea(s, idea_id)
        rows = list(s.scalars(select(CoreIdea).order_by(CoreIdea.id)))
        versions = {v.id: v for v in _versions(s, rows)}
    root = versions[idea_id].root
    return [v for v in versions.values() if v.root == root]


# -- categories --------------------------------------------------------------------------------------
def _is_other_name(name: str) -> bool:
    return name.strip().casefold() in DEFAULT_OTHER_NAMES


def add_category(
    store: Store,
    domain: str,
    name: str,
    created_by: str,
    *,
    parent: int | str | None = None,
    is_other: bool = False,
) -> int:
    """A category (or, with ``parent``, a subcategory) of ``domain``; names are unique within a domain."""
    name = _text(name, "category name")
    with store.sessions.begin() as s:
        project_id = _project_id(store, s)
        _check_domain(store, s, domain)
        _unique_name(s, project_id, domain, name)
        parent_row = None
        if parent is not None:
            parent_row = _category(s, project_id, parent, domain)
            if parent_row.parent_id is not None:
                raise InputError(f"{parent_row.name!r} is a subcategory; subcategories cannot have their own")
        row = Category(
            project_id=project_id,
            domain=domain,
            parent_id=parent_row.id if parent_row else None,
            name=name,
            is_other=is_other or _is_other_name(name),
            created_by_id=_judge_id(s, project_id, created_by),
        )
        s.add(row)
        s.flush()
        return row.id


def _unique_name(s: Session, project_id: int, domain: str, name: str, except_id: int | None = None) -> None:
    for other in s.scalars(
        select(Category).where(Category.project_id == project_id, Category.domain == domain)
    ):
        if other.id != except_id and other.name.casefold() == name.casefold():
            raise InputError(f"domain {domain!r} already has a category named {other.name!r} (id {other.id})")


def _log(s: Session, project_id: int, category_id: int, judge_id: int, text: str) -> None:
    """Structural decisions are kept in the category's thread, so its history says who decided what."""
    s.add(
        AuditComment(
            project_id=project_id,
            target_type="category",
            target_id=category_id,
            author_id=judge_id,
            text=text,
            resolution="accepted",
        )
    )


def rename_category(store: Store, category: int | str, new_name: str, decided_by: str) -> None:
    new_name = _text(new_name, "category name")
    with store.sessions.begin() as s:
        project_id = _project_id(store, s)
        row = _category(s, project_id, category)
        _unique_name(s, project_id, row.domain, new_name, except_id=row.id)
        judge_id = _judge_id(s, project_id, decided_by)
        _log(s, project_id, row.id, judge_id, f"renamed {row.name!r} to {new_name!r}")
        row.name = new_name
        row.is_other = row.is_other or _is_other_name(new_name)


def merge_categories(store: Store, source: int | str, target: int | str, decided_by: str) -> int:
    """Fold ``source`` into ``target``: its core ideas and subcategories move; ``source`` is removed."""
    with store.sessions.begin() as s:
        project_id = _project_id(store, s)
        src = _category(s, project_id, source)
        dst = _category(s, project_id, target, src.domain)
        if src.id == dst.id:
            raise InputError("a category cannot be merged into itself")
        if dst.parent_id == src.id:
            raise InputError(f"{dst.name!r} is a subcategory of {src.name!r}; move it out before merging")
        children = list(s.scalars(select(Category).where(Category.parent_id == src.id)))
        if children and dst.parent_id is not None:
            raise InputError(f"{src.name!r} has subcategories; merge it into a top-level category")
        judge_id = _judge_id(s, project_id, decided_by)
        already = set(
            s.scalars(select(CoreIdeaCategory.core_idea_id).where(CoreIdeaCategory.category_id == dst.id))
        )
        moved = 0
        for link in list(s.scalars(select(CoreIdeaCategory).where(CoreIdeaCategory.category_id == src.id))):
            if link.core_idea_id not in already:
                s.add(
                    CoreIdeaCategory(
                        core_idea_id=link.core_idea_id, category_id=dst.id, decided_by_id=judge_id
                    )
                )
                moved += 1
            s.delete(link)
        for child in children:
            child.parent_id = dst.id
        _log(s, project_id, dst.id, judge_id, f"merged {src.name!r} (id {src.id}) into this category")
        s.flush()
        s.delete(src)
        return moved


def move_category(store: Store, category: int | str, parent: int | str | None, decided_by: str) -> None:
    """Make a category a subcategory of ``parent``, or (``parent=None``) a top-level category."""
    with store.sessions.begin() as s:
        project_id = _project_id(store, s)
        row = _category(s, project_id, category)
        new_parent = _category(s, project_id, parent, row.domain) if parent is not None else None
        if new_parent is not None:
            if new_parent.id == row.id or new_parent.parent_id is not None:
                raise InputError(f"{new_parent.name!r} cannot hold subcategories")
            if s.scalar(select(Category.id).where(Category.parent_id == row.id)) is not None:
                raise InputError(f"{row.name!r} has subcategories, so it cannot become one")
        judge_id = _judge_id(s, project_id, decided_by)
        where = f"under {new_parent.name!r}" if new_parent else "to the top level"
        _log(s, project_id, row.id, judge_id, f"moved {row.name!r} {where}")
        row.parent_id = new_parent.id if new_parent else None


def assign_categories(
    store: Store, idea_id: int, categories: Sequence[int | str], decided_by: str, *, remove: bool = False
) -> list[int]:
    """Code a core idea into categories of its own domain (or, ``remove``, take them off)."""
    if not categories:
        raise InputError("name at least one category")
    with store.sessions.begin() as s:
        project_id = _project_id(store, s)
        idea = _idea(s, idea_id)
        if idea.status == MACHINE_DRAFT:
            raise InputError(f"core idea {idea_id} is a machine draft: a person must accept it first")
        _require_head(s, idea, "code")
        rows = [_category(s, project_id, ref, idea.domain) for ref in categories]
        current = {
            link.category_id: link
            for link in s.scalars(select(CoreIdeaCategory).where(CoreIdeaCategory.core_idea_id == idea.id))
        }
        judge_id = _judge_id(s, project_id, decided_by)
        for row in rows:
            if remove and row.id in current:
                s.delete(current[row.id])
            elif not remove and row.id not in current:
                s.add(CoreIdeaCategory(core_idea_id=idea.id, category_id=row.id, decided_by_id=judge_id))
        return [r.id for r in rows]


def category_decisions(store: Store, idea_id: int) -> dict[int, str | None]:
    """Who coded the core idea into each of its categories."""
    with store.session() as s:
        _idea(s, idea_id)
        rows = s.execute(
            select(CoreIdeaCategory.category_id, Judge.name)
            .join(Judge, Judge.id == CoreIdeaCategory.decided_by_id, isouter=True)
            .where(CoreIdeaCategory.core_idea_id == idea_id)
        ).all()
    return dict(rows)


def categories(store: Store, domain: str | None = None) -> list[CategoryInfo]:
    """Categories (each followed by its subcategories), with the counted core ideas and cases in each."""
    counted = {v.id: v for v in core_ideas(store, domain=domain, counted_only=True)}
    with store.session() as s:
        project_id = _project_id(store, s)
        query = select(Category).where(Category.project_id == project_id)
        if domain is not None:
            _check_domain(store, s, domain)
            query = query.where(Category.domain == domain)
        rows = list(s.scalars(query.order_by(Category.domain, Category.id)))
        judges = dict(s.execute(select(Judge.id, Judge.name)).all())
    by_id = {r.id: r for r in rows}
    ideas: dict[int, set[int]] = defaultdict(set)
    for version in counted.values():
        for category_id in version.categories:
            ideas[category_id].add(version.id)
            parent = by_id[category_id].parent_id if category_id in by_id else None
            if parent is not None:
                ideas[parent].add(version.id)
    order = _codebook_order(store.codebook())
    tops = sorted(
        (r for r in rows if r.parent_id is None), key=lambda r: (order.get(r.domain, len(order)), r.id)
    )
    ordered = []
    for top in tops:
        ordered.append(top)
        ordered += [r for r in rows if r.parent_id == top.id]
    return [
        CategoryInfo(
            id=r.id,
            domain=r.domain,
            name=r.name,
            parent_id=r.parent_id,
            parent=by_id[r.parent_id].name if r.parent_id in by_id else None,
            is_other=r.is_other,
            created_by=judges.get(r.created_by_id),
            core_ideas=tuple(sorted(ideas[r.id])),
            cases=tuple(sorted({counted[i].case for i in ideas[r.id]})),
            subcategories=tuple(c.id for c in rows if c.parent_id == r.id),
        )
        for r in ordered
    ]


def _codebook_order(codebook: Codebook | None) -> dict[str, int]:
    return {d: i for i, d in enumerate(codebook.domain_ids)} if codebook else {}


# -- cross-analysis ------------------------------------------------------------------------------------
def sample_cases(store: Store) -> dict[str, dict[str, str]]:
    """Every case in the store with its attributes: the sample N the frequency labels use."""
    with store.session() as s:
        project_id = _project_id(store, s)
        rows = s.scalars(select(Case).where(Case.project_id == project_id).order_by(Case.key))
        return {c.key: {str(k): str(v) for k, v in (c.attributes or {}).items()} for c in rows}


def domain_title(codebook: Codebook | None, domain: str) -> str:
    """The domain's name as the results table shows it (its id where there is no codebook)."""
    if codebook is not None and domain in codebook.domain_ids:
        return codebook.domain(domain).name
    return domain


def memberships(store: Store) -> list[Membership]:
    """One membership per case and (sub)category holding a counted core idea of that case, once each."""
    codebook = store.codebook()
    info = {c.id: c for c in categories(store)}
    out: dict[Membership, None] = {}
    ordered = sorted(
        core_ideas(store, counted_only=True),
        key=lambda v: (_codebook_order(codebook).get(v.domain, 1 << 30), v.domain, v.case, v.id),
    )
    for version in ordered:
        title = domain_title(codebook, version.domain)
        for category_id in version.categories:
            category = info[category_id]
            if category.parent is not None:
                out[Membership(version.case, title, "", category.parent, category.name)] = None
            else:
                out[Membership(version.case, title, "", category.name, "")] = None
    return list(out)


def cross_inputs(store: Store) -> CrossInputs:
    """The store's memberships and sample, with the codebook's domain order and its Other categories."""
    codebook = store.codebook()
    order = tuple(d.name for d in codebook.domains) if codebook else ()
    others = frozenset(c.name.strip().casefold() for c in categories(store) if c.is_other)
    return CrossInputs(memberships(store), sample_cases(store), order, DEFAULT_OTHER_NAMES | others)


# -- audit comments ------------------------------------------------------------------------------------
def comment(
    store: Store,
    target_type: str,
    target_id: int,
    author: str,
    text: str,
    *,
    reply_to: int | None = None,
    resolution: str | None = None,
) -> int:
    """An auditor's comment on a unit, core idea or category, or the team's reply to one.

    A reply may settle the comment it answers (``accepted`` / ``rejected``); its text is the rationale.
    """
    if target_type not in COMMENT_TARGETS:
        raise InputError(f"comments go on {', '.join(COMMENT_TARGETS)}, not {target_type!r}")
    if resolution is not None and resolution not in RESOLUTIONS:
        raise InputError(f"resolution must be accepted or rejected, not {resolution!r}")
    if resolution is not None and reply_to is None:
        raise InputError("a resolution answers a comment: give --reply-to ID")
    text = _text(text, "comment")
    model = {"unit": ThoughtUnitRow, "core_idea": CoreIdea, "category": Category}[target_type]
    with store.sessions.begin() as s:
        project_id = _project_id(store, s)
        if s.get(model, target_id) is None:
            raise InputError(f"no {target_type.replace('_', ' ')} {target_id}")
        parent = None
        if reply_to is not None:
            parent = s.get(AuditComment, reply_to)
            if parent is None or (parent.target_type, parent.target_id) != (target_type, target_id):
                raise InputError(f"comment {reply_to} is not on {target_type} {target_id}")
        role = "judge" if reply_to is not None else "auditor"
        row = AuditComment(
            project_id=project_id,
            target_type=target_type,
            target_id=target_id,
            author_id=_judge_id(s, project_id, author, role),
            text=text,
            reply_to_id=reply_to,
        )
        s.add(row)
        if parent is not None and resolution is not None:
            parent.resolution = resolution
            parent.rationale = text
        s.flush()
        return row.id


def comment_thread(store: Store, target_type: str, target_id: int) -> list[dict]:
    """The comments on one target, oldest first, as plain records."""
    if target_type not in COMMENT_TARGETS:
        raise InputError(f"comments go on {', '.join(COMMENT_TARGETS)}, not {target_type!r}")
    with store.session() as s:
        rows = s.execute(
            select(AuditComment, Judge.name, Judge.role)
            .join(Judge, Judge.id == AuditComment.author_id)
            .where(AuditComment.target_type == target_type, AuditComment.target_id == target_id)
            .order_by(AuditComment.id)
        ).all()
    return [
        {
            "id": c.id,
            "author": name,
            "role": role,
            "text": c.text,
            "reply_to": c.reply_to_id,
            "resolution": c.resolution,
            "rationale": c.rationale,
            "created_at": c.created_at.isoformat() if c.created_at else None,
        }
        for c, name, role in rows
    ]


# -- import from files -------------------------------------------------------------------------------------
_REF = re.compile(r"^[A-Za-z0-9_.:-]+$")


def import_categories(store: Store, scheme: Mapping[str, Sequence[Mapping]], created_by: str) -> int:
    """Create a category scheme ``{domain: [{name, other?, subcategories: [{name}]}]}`` in one transaction.

    Categories that already exist (same domain and name) are kept, so importing twice adds nothing.
    """
    created = 0
    with store.sessions.begin() as s:
        project_id = _project_id(store, s)
        judge_id = _judge_id(s, project_id, created_by)
        for domain, items in scheme.items():
            _check_domain(store, s, domain)
            existing = {
                c.name.casefold(): c
                for c in s.scalars(
                    select(Category).where(Category.project_id == project_id, Category.domain == domain)
                )
            }
            for item in items:
                parent, made = _ensure_category(s, project_id, domain, item, None, judge_id, existing)
                created += made
                for sub in item.get("subcategories") or []:
                    created += _ensure_category(s, project_id, domain, sub, parent, judge_id, existing)[1]
    return created


def _ensure_category(
    s: Session,
    project_id: int,
    domain: str,
    item: Mapping,
    parent: Category | None,
    judge_id: int,
    existing: dict[str, Category],
) -> tuple[Category, int]:
    name = _text(str(item.get("name") or ""), "category name")
    found = existing.get(name.casefold())
    if found is not None:
        if found.parent_id != (parent.id if parent else None):
            raise InputError(f"category {name!r} of {domain!r} already exists at another level")
        return found, 0
    row = Category(
        project_id=project_id,
        domain=domain,
        parent_id=parent.id if parent else None,
        name=name,
        is_other=bool(item.get("other")) or _is_other_name(name),
        created_by_id=judge_id,
    )
    s.add(row)
    s.flush()
    existing[name.casefold()] = row
    return row, 1


def import_core_ideas(store: Store, records: Sequence[Mapping], author: str) -> dict[str, int]:
    """Load consensus core ideas ``{id, case, domain, text, units, categories?, status?}`` in one transaction.

    ``categories`` name categories of the idea's domain (they must exist). Returns the file ids
    mapped to store ids. Any bad record stops the import with nothing saved.
    """
    created: dict[str, int] = {}
    with store.sessions.begin() as s:
        project_id = _project_id(store, s)
        default_author = _judge_id(s, project_id, author)
        for number, record in enumerate(records, start=1):
            try:
                ref = str(record.get("id") or number)
                if not _REF.match(ref) or ref in created:
                    raise InputError(f"core idea id {ref!r} is not a unique plain id")
                status = record.get("status") or CONSENSUS
                if status not in (DRAFT, CONSENSUS):
                    raise InputError(f"status must be draft or consensus, not {status!r}")
                case_row = _case(s, project_id, str(record.get("case") or ""))
                domain = str(record.get("domain") or "")
                _check_domain(store, s, domain)
                units = [str(u) for u in record.get("units") or []]
                if not units:
                    raise InputError("a core idea must list the units it summarises")
                rows = _unit_rows(s, case_row.id, units)
                judge_id = (
                    _judge_id(s, project_id, record["author"]) if record.get("author") else default_author
                )
                idea = CoreIdea(
                    case_id=case_row.id,
                    domain=domain,
                    text=_text(str(record.get("text") or "")),
                    status=status,
                    author_id=judge_id,
                )
                s.add(idea)
                s.flush()
                _link_units(s, idea.id, rows)
                for name in record.get("categories") or []:
                    category = _category(s, project_id, str(name), domain)
                    s.add(
                        CoreIdeaCategory(
                            core_idea_id=idea.id, category_id=category.id, decided_by_id=judge_id
                        )
                    )
                created[ref] = idea.id
            except InputError as err:
                raise InputError(err.message, err.path, number) from None
    return created
