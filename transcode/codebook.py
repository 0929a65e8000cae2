"""The study codebook (docs/formats.md section 2): domains, their descriptions and protocol questions."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from transcode.errors import InputError
from transcode.files import read_yaml

_ID = re.compile(r"^[a-z0-9_]+$")


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


def parse_codebook(data: object, source: str = "<codebook>") -> Codebook:
    if not isinstance(data, dict) or not isinstance(data.get("domains"), list) or not data["domains"]:
        raise InputError("codebook needs a non-empty 'domains' list", source)
    seen: set[str] = set()
    domains = []
    for n, raw in enumerate(data["domains"], start=1):
        if not isinstance(raw, dict) or "id" not in raw:
            raise InputError(f"domain #{n} needs an 'id'", source)
        domain_id = str(raw["id"])
        if not _ID.match(domain_id):
            raise InputError(f"domain id {domain_id!r} must match [a-z0-9_]+", source)
        if domain_id in seen:
            raise InputError(f"duplicate domain id {domain_id!r}", source)
        if domain_id == "other":
            raise InputError("'other' is reserved for units in no domain", source)
        seen.add(domain_id)
        questions = raw.get("questions") or []
        if not isinstance(questions, list):
            raise InputError(f"domain {domain_id!r}: 'questions' must be a list", source)
        domains.append(
            Domain(
                id=domain_id,
                name=str(raw.get("name") or domain_id),
                description=" ".join(str(raw.get("description") or "").split()),
                questions=tuple(str(q) for q in questions),
                categories=tuple(_category(c, source, domain_id) for c in raw.get("categories") or []),
            )
        )
    return Codebook(
        name=str(data.get("name") or "Untitled codebook"),
        domains=tuple(domains),
        version=str(data.get("version", "1")),
        source=source,
    )


def _category(raw: object, source: str, domain_id: str) -> Category:
    if not isinstance(raw, dict) or "id" not in raw:
        raise InputError(f"domain {domain_id!r}: each category needs an 'id'", source)
    return Category(
        id=str(raw["id"]),
        name=str(raw.get("name") or raw["id"]),
        subcategories=tuple(_category(s, source, domain_id) for s in raw.get("subcategories") or []),
    )
