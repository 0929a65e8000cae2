"""Cross-analysis categories per domain: a two-level tree the team builds, and core ideas coded into it.

Names are unique within a domain; "Other" / "Miscellaneous" categories are
flagged, so the results table sorts them last. Every structural decision
(rename, merge, move) is kept in the category's audit thread, so its history
says who decided what. Each function that writes is one transaction.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from transcode.analysis._lookup import (
    category_row,
    check_domain,
    clean_text,
    codebook_order,
    idea_row,
    require_head,
)
from transcode.analysis.core_ideas import MACHINE_DRAFT, core_ideas
from transcode.coding.audit import add_to_thread
from transcode.cross.analysis import DEFAULT_OTHER_NAMES
from transcode.errors import InputError, StoreError
from transcode.store import Store
from transcode.store.repo import ensure_judge
from transcode.store.schema import Category, CoreIdeaCategory, Judge


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
    name = clean_text(name, "category name")
    with store.sessions.begin() as s:
        project_id = store.project_id(s)
        check_domain(store, s, domain)
        _unique_name(s, project_id, domain, name)
        parent_row = None
        if parent is not None:
            parent_row = category_row(s, project_id, parent, domain)
            if parent_row.parent_id is not None:
                raise StoreError(f"{parent_row.name!r} is a subcategory; subcategories cannot have their own")
        row = Category(
            project_id=project_id,
            domain=domain,
            parent_id=parent_row.id if parent_row else None,
            name=name,
            is_other=is_other or _is_other_name(name),
            created_by_id=ensure_judge(s, project_id, created_by),
        )
        s.add(row)
        s.flush()
        return row.id


def _unique_name(s: Session, project_id: int, domain: str, name: str, except_id: int | None = None) -> None:
    for other in s.scalars(
        select(Category).where(Category.project_id == project_id, Category.domain == domain)
    ):
        if other.id != except_id and other.name.casefold() == name.casefold():
            raise StoreError(f"domain {domain!r} already has a category named {other.name!r} (id {other.id})")


def _log(s: Session, project_id: int, category_id: int, judge_id: int, text: str) -> None:
    """Structural decisions are kept in the category's thread, so its history says who decided what."""
    add_to_thread(s, project_id, "category", category_id, judge_id, text, resolution="accepted")


def rename_category(store: Store, category: int | str, new_name: str, decided_by: str) -> None:
    new_name = clean_text(new_name, "category name")
    with store.sessions.begin() as s:
        project_id = store.project_id(s)
        row = category_row(s, project_id, category)
        _unique_name(s, project_id, row.domain, new_name, except_id=row.id)
        judge_id = ensure_judge(s, project_id, decided_by)
        _log(s, project_id, row.id, judge_id, f"renamed {row.name!r} to {new_name!r}")
        row.name = new_name
        row.is_other = row.is_other or _is_other_name(new_name)


def merge_categories(store: Store, source: int | str, target: int | str, decided_by: str) -> int:
    """Fold ``source`` into ``target``: its core ideas and subcategories move; ``source`` is removed."""
    with store.sessions.begin() as s:
        project_id = store.project_id(s)
        src = category_row(s, project_id, source)
        dst = category_row(s, project_id, target, src.domain)
        if src.id == dst.id:
            raise InputError("a category cannot be merged into itself")
        if dst.parent_id == src.id:
            raise StoreError(f"{dst.name!r} is a subcategory of {src.name!r}; move it out before merging")
        children = list(s.scalars(select(Category).where(Category.parent_id == src.id)))
        if children and dst.parent_id is not None:
            raise StoreError(f"{src.name!r} has subcategories; merge it into a top-level category")
        judge_id = ensure_judge(s, project_id, decided_by)
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
        project_id = store.project_id(s)
        row = category_row(s, project_id, category)
        new_parent = category_row(s, project_id, parent, row.domain) if parent is not None else None
        if new_parent is not None:
            if new_parent.id == row.id or new_parent.parent_id is not None:
                raise StoreError(f"{new_parent.name!r} cannot hold subcategories")
            if s.scalar(select(Category.id).where(Category.parent_id == row.id)) is not None:
                raise StoreError(f"{row.name!r} has subcategories, so it cannot become one")
        judge_id = ensure_judge(s, project_id, decided_by)
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
        project_id = store.project_id(s)
        idea = idea_row(s, idea_id)
        if idea.status == MACHINE_DRAFT:
            raise StoreError(f"core idea {idea_id} is a machine draft: a person must accept it first")
        require_head(s, idea, "code")
        rows = [category_row(s, project_id, ref, idea.domain) for ref in categories]
        current = {
            link.category_id: link
            for link in s.scalars(select(CoreIdeaCategory).where(CoreIdeaCategory.core_idea_id == idea.id))
        }
        judge_id = ensure_judge(s, project_id, decided_by)
        for row in rows:
            if remove and row.id in current:
                s.delete(current[row.id])
            elif not remove and row.id not in current:
                s.add(CoreIdeaCategory(core_idea_id=idea.id, category_id=row.id, decided_by_id=judge_id))
        return [r.id for r in rows]


def category_decisions(store: Store, idea_id: int) -> dict[int, str | None]:
    """Who coded the core idea into each of its categories."""
    with store.session() as s:
        idea_row(s, idea_id)
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
        project_id = store.project_id(s)
        query = select(Category).where(Category.project_id == project_id)
        if domain is not None:
            check_domain(store, s, domain)
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
    order = codebook_order(store.codebook())
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
            created_by=judges.get(r.created_by_id) if r.created_by_id is not None else None,
            core_ideas=tuple(sorted(ideas[r.id])),
            cases=tuple(sorted({counted[i].case for i in ideas[r.id]})),
            subcategories=tuple(c.id for c in rows if c.parent_id == r.id),
        )
        for r in ordered
    ]


# -- import from files ---------------------------------------------------------------------------------
def import_categories(store: Store, scheme: Mapping[str, Sequence[Mapping]], created_by: str) -> int:
    """Create a category scheme ``{domain: [{name, other?, subcategories: [{name}]}]}`` in one transaction.

    Categories that already exist (same domain and name) are kept, so importing twice adds nothing.
    """
    created = 0
    with store.sessions.begin() as s:
        project_id = store.project_id(s)
        judge_id = ensure_judge(s, project_id, created_by)
        for domain, items in scheme.items():
            check_domain(store, s, domain)
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
    name = clean_text(str(item.get("name") or ""), "category name")
    found = existing.get(name.casefold())
    if found is not None:
        if found.parent_id != (parent.id if parent else None):
            raise StoreError(f"category {name!r} of {domain!r} already exists at another level")
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
