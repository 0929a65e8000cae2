"""Finding what an analysis request names, inside the caller's transaction: cases, domains, units,
core ideas and categories, each refused with one clear line when the store does not hold it."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from transcode.codebook import Codebook
from transcode.errors import InputError, StoreError
from transcode.store import Store
from transcode.store.schema import Case, Category, ConsensusCode, CoreIdea, CoreIdeaUnit, ThoughtUnitRow


def case_row(s: Session, project_id: int, key: str) -> Case:
    case = s.scalars(select(Case).where(Case.project_id == project_id, Case.key == key)).first()
    if case is None:
        known = s.scalars(select(Case.key).where(Case.project_id == project_id).order_by(Case.key)).all()
        raise StoreError(f"unknown case {key!r} (cases: {', '.join(known[:20]) or 'none'})")
    return case


def known_domains(store: Store, s: Session) -> list[str]:
    codebook = store.codebook()
    if codebook is not None:
        return codebook.domain_ids
    used = s.scalars(select(ConsensusCode.domain).distinct()).all()
    return sorted(set(used) - {"other"})


def check_domain(store: Store, s: Session, domain: str) -> None:
    known = known_domains(store, s)
    if domain not in known:
        raise StoreError(f"unknown domain {domain!r} (domains: {', '.join(known) or 'none'})")


def idea_row(s: Session, idea_id: int) -> CoreIdea:
    idea = s.get(CoreIdea, idea_id)
    if idea is None:
        raise StoreError(f"no core idea {idea_id}")
    return idea


def successor(s: Session, idea_id: int) -> int | None:
    return s.scalar(select(CoreIdea.id).where(CoreIdea.supersedes_id == idea_id).order_by(CoreIdea.id))


def require_head(s: Session, idea: CoreIdea, action: str) -> None:
    newer = successor(s, idea.id)
    if newer is not None:
        raise StoreError(f"core idea {idea.id} was revised by {newer}; {action} the current version {newer}")


def unit_rows(s: Session, case_id: int, keys: Sequence[str]) -> list[ThoughtUnitRow]:
    keys = list(dict.fromkeys(keys))
    rows = {
        u.key: u
        for u in s.scalars(
            select(ThoughtUnitRow).where(ThoughtUnitRow.case_id == case_id, ThoughtUnitRow.key.in_(keys))
        )
    }
    missing = [k for k in keys if k not in rows]
    if missing:
        raise StoreError(f"unit(s) not in this case: {', '.join(missing)}")
    return [rows[k] for k in keys]


def link_units(s: Session, idea_id: int, units: Iterable[ThoughtUnitRow]) -> None:
    s.add_all(CoreIdeaUnit(core_idea_id=idea_id, unit_id=u.id) for u in units)


def category_row(s: Session, project_id: int, ref: int | str, domain: str | None = None) -> Category:
    """A category by id, or by name (case-insensitive) within ``domain``."""
    if isinstance(ref, int) or (str(ref).isascii() and str(ref).isdigit()):
        row = s.get(Category, int(ref)) if 0 < int(ref) < 2**31 else None
        if row is None or row.project_id != project_id:
            raise StoreError(f"no category {ref}")
        if domain is not None and row.domain != domain:
            raise StoreError(
                f"category {row.id} ({row.name!r}) belongs to domain {row.domain!r}, not {domain!r}"
            )
        return row
    query = select(Category).where(Category.project_id == project_id)
    if domain is not None:
        query = query.where(Category.domain == domain)
    matches = [c for c in s.scalars(query) if c.name.casefold() == str(ref).strip().casefold()]
    if not matches:
        raise StoreError(f"no category named {ref!r}" + (f" in domain {domain!r}" if domain else ""))
    if len(matches) > 1:
        raise InputError(f"{len(matches)} categories are named {ref!r}; give the domain or the id")
    return matches[0]


def clean_text(text: str, what: str = "core idea") -> str:
    text = " ".join((text or "").split())
    if not text:
        raise InputError(f"an empty {what} is not saved")
    return text


def codebook_order(codebook: Codebook | None) -> dict[str, int]:
    """Each domain's place in the codebook (the order results are shown in)."""
    return {d: i for i, d in enumerate(codebook.domain_ids)} if codebook else {}
