"""The study codebook (docs/formats.md section 2): domains, their descriptions and protocol questions."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from transcode.errors import InputError
from transcode.files import read_yaml

_ID = re.compile(r"[a-z0-9_]{1,100}")
#: What a codebook's names, descriptions and questions may be: text, or a number YAML read as one.
_SCALAR = (str, int, float)


@dataclass(frozen=True)
class Category:
    id: str
    name: str
    subcategories: tuple[Category, ...] = ()


@dataclass(frozen=True)
class Domain:
    id: str
    name: str
    description: str = ""
    questions: tuple[str, ...] = ()
    categories: tuple[Category, ...] = ()


@dataclass(frozen=True)
class Codebook:
    name: str
    domains: tuple[Domain, ...]
    version: str = "1"
    source: str | None = field(default=None, compare=False)

    @property
    def domain_ids(self) -> list[str]:
        return [d.id for d in self.domains]

    def domain(self, domain_id: str) -> Domain:
        for d in self.domains:
            if d.id == domain_id:
                return d
        raise KeyError(domain_id)

    def fingerprint(self) -> str:
        """A content hash: a trained model records which codebook it learned."""
        payload = json.dumps(self.to_dict(), sort_keys=True).encode()
        return hashlib.sha256(payload).hexdigest()[:16]

    def to_dict(self) -> dict:
        def category(c: Category) -> dict:
            return {"id": c.id, "name": c.name, "subcategories": [category(s) for s in c.subcategories]}

        return {
            "name": self.name,
            "version": self.version,
            "domains": [
                {
                    "id": d.id,
                    "name": d.name,
                    "description": d.description,
                    "questions": list(d.questions),
                    "categories": [category(c) for c in d.categories],
                }
                for d in self.domains
            ],
        }


def load_codebook(path: str | Path) -> Codebook:
    """The codebook YAML at ``path`` (docs/formats.md section 2)."""
    return parse_codebook(read_yaml(path), str(path))


def _text(value: object, what: str, source: str, default: str = "") -> str:
    """A scalar as text; anything else (a list, a mapping) is an error, not its ``str()``."""
    if value is None:
        return default
    if not isinstance(value, _SCALAR) or isinstance(value, bool):
        raise InputError(f"{what} must be text, not a {type(value).__name__}", source)
    return str(value)


def _list(value: object, what: str, source: str) -> list:
    if value is None:
        return []
    if not isinstance(value, list):
        raise InputError(f"{what} must be a list, not a {type(value).__name__}", source)
    return value


def parse_codebook(data: object, source: str = "<codebook>") -> Codebook:
    if not isinstance(data, dict) or not isinstance(data.get("domains"), list) or not data["domains"]:
        raise InputError("codebook needs a non-empty 'domains' list", source)
    seen: set[str] = set()
    domains = []
    for n, raw in enumerate(data["domains"], start=1):
        if not isinstance(raw, dict) or "id" not in raw:
            raise InputError(f"domain #{n} needs an 'id'", source)
        domain_id = _text(raw["id"], f"domain #{n}: 'id'", source)
        if not _ID.fullmatch(domain_id):
            raise InputError(f"domain id {domain_id[:40]!r} must match [a-z0-9_]+ (at most 100)", source)
        if domain_id in seen:
            raise InputError(f"duplicate domain id {domain_id!r}", source)
        if domain_id == "other":
            raise InputError("'other' is reserved for units in no domain", source)
        seen.add(domain_id)
        where = f"domain {domain_id!r}"
        questions = _list(raw.get("questions"), f"{where}: 'questions'", source)
        categories = _list(raw.get("categories"), f"{where}: 'categories'", source)
        description = _text(raw.get("description"), f"{where}: 'description'", source)
        domains.append(
            Domain(
                id=domain_id,
                name=_text(raw.get("name"), f"{where}: 'name'", source) or domain_id,
                description=" ".join(description.split()),
                questions=tuple(_text(q, f"{where}: a question", source) for q in questions),
                categories=tuple(_category(c, source, domain_id) for c in categories),
            )
        )
    return Codebook(
        name=_text(data.get("name"), "the codebook's 'name'", source) or "Untitled codebook",
        domains=tuple(domains),
        version=_text(data.get("version", "1"), "the codebook's 'version'", source),
        source=source,
    )


def _category(raw: object, source: str, domain_id: str, depth: int = 0) -> Category:
    if not isinstance(raw, dict) or "id" not in raw:
        raise InputError(f"domain {domain_id!r}: each category needs an 'id'", source)
    if depth > 8:
        raise InputError(f"domain {domain_id!r}: categories nested more than 8 deep", source)
    where = f"domain {domain_id!r}: a category"
    category_id = _text(raw["id"], f"{where} 'id'", source)
    subcategories = _list(raw.get("subcategories"), f"{where}'s 'subcategories'", source)
    return Category(
        id=category_id,
        name=_text(raw.get("name"), f"{where} 'name'", source) or category_id,
        subcategories=tuple(_category(s, source, domain_id, depth + 1) for s in subcategories),
    )
