"""Changing the codebook while the team codes: what a new codebook changes, and the operations
(rename, merge, split, retire) that say what a diff cannot guess. Pure: no store here
(:mod:`transcode.coding.codebook_ops` applies them).

A domain id that an operation moved away or retired is never used again, so every code ever
given can be followed to the current codebook by its id alone (:class:`DomainMap`), whichever
version it was given under.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from transcode.codebook import Codebook
from transcode.coding.codes import OTHER
from transcode.errors import InputError

RENAME, MERGE, SPLIT, RETIRE = "rename", "merge", "split", "retire"
KINDS = (RENAME, MERGE, SPLIT, RETIRE)


@dataclass(frozen=True)
class Operation:
    """One change of domains: ``sources`` become ``targets`` (none for a retire)."""

    kind: str
    sources: tuple[str, ...]
    targets: tuple[str, ...] = ()

    def as_dict(self) -> dict:
        return {"op": self.kind, "from": list(self.sources), "to": list(self.targets)}

    def describe(self) -> str:
        if self.kind == RETIRE:
            return f"--retire {self.sources[0]}"
        return f"--{self.kind} {','.join(self.sources)}={','.join(self.targets)}"


def _ids(text: str, what: str) -> tuple[str, ...]:
    ids = tuple(part.strip() for part in text.split(","))
    if not all(ids):
        raise InputError(f"{what}: an empty domain id")
    return ids


def parse_operations(
    renames: Sequence[str] = (),
    merges: Sequence[str] = (),
    splits: Sequence[str] = (),
    retires: Sequence[str] = (),
) -> list[Operation]:
    """``--rename OLD=NEW``, ``--merge A,B=C``, ``--split A=B,C``, ``--retire A`` as operations."""
    out: list[Operation] = []
    for kind, values in ((RENAME, renames), (MERGE, merges), (SPLIT, splits)):
        for value in values:
            left, equals, right = value.partition("=")
            what = f"--{kind} {value}"
            if not equals:
                shape = {"rename": "OLD=NEW", "merge": "A,B=C", "split": "A=B,C"}[kind]
                raise InputError(f"{what}: expected {shape}")
            sources, targets = _ids(left, what), _ids(right, what)
            if kind == RENAME and (len(sources), len(targets)) != (1, 1):
                raise InputError(f"{what}: a rename takes one old id and one new id (OLD=NEW)")
            if kind == MERGE and (len(sources) < 2 or len(targets) != 1):
                raise InputError(f"{what}: a merge takes two or more domains into one (A,B=C)")
            if kind == SPLIT and (len(sources) != 1 or len(targets) < 2):
                raise InputError(f"{what}: a split takes one domain into two or more (A=B,C)")
            if len(set(sources)) != len(sources) or len(set(targets)) != len(targets):
                raise InputError(f"{what}: a domain is named twice")
            out.append(Operation(kind, sources, targets))
    out += [Operation(RETIRE, _ids(value, f"--retire {value}")) for value in retires]
    for op in out:
        if op.kind == RETIRE and len(op.sources) != 1:
            raise InputError(f"{op.describe()}: retire one domain per --retire")
    return out


@dataclass(frozen=True)
class DomainMap:
    """Where each id that operations moved now lives: ``moved`` (rename, merge) points at its new
    id; ``gone`` holds split and retired ids (a code on them is no longer counted)."""

    moved: Mapping[str, str] = field(default_factory=dict)
    gone: frozenset[str] = frozenset()

    @classmethod
    def from_changes(cls, changes: Iterable[Mapping | None]) -> DomainMap:
        """The map of every version's recorded ``changes`` (oldest first)."""
        moved: dict[str, str] = {}
        gone: set[str] = set()
        for change in changes:
            for op in (change or {}).get("operations", []):
                if op["op"] in (RENAME, MERGE):
                    moved.update({s: op["to"][0] for s in op["from"] if s != op["to"][0]})
                else:
                    gone.update(s for s in op["from"] if s not in op["to"])
        return cls(moved, frozenset(gone))

    @property
    def retired_ids(self) -> frozenset[str]:
        """Every id no longer in use: a new domain may not take one."""
        return frozenset(self.moved) | self.gone

    def resolve(self, domain: str) -> str | None:
        """The current id of a code given to ``domain``; None when it was split or retired."""
        seen = set()
        while domain in self.moved and domain not in seen:
            seen.add(domain)
            domain = self.moved[domain]
        return None if domain in self.gone else domain

    def codes(self, given: frozenset[str]) -> frozenset[str]:
        """A unit's codes in the current codebook (``other`` stays; split/retired codes drop out)."""
        if not self.moved and not self.gone:
            return given
        return frozenset(d for d in (OTHER if g == OTHER else self.resolve(g) for g in given) if d)

    def all_codes(self, by_unit: Mapping[str, frozenset[str]]) -> dict[str, frozenset[str]]:
        return {unit: self.codes(given) for unit, given in by_unit.items()}


#: What a domain holds that is not a person's code: a removed domain's proposals are dropped, not orphaned.
NOT_CODES = ("proposals",)


@dataclass(frozen=True)
class CodebookDiff:
    """What a new codebook changes against the current one, and what holds codes in it."""

    added: tuple[str, ...]
    removed: tuple[str, ...]
    renamed: tuple[tuple[str, str], ...]
    changed: tuple[str, ...]
    #: Removed ids still holding codes (judges', consensus, core ideas, categories) that no
    #: operation covers: {id: {kind of code: count}}.
    orphaned: Mapping[str, Mapping[str, int]]

    def as_dict(self) -> dict:
        return {
            "added": list(self.added),
            "removed": list(self.removed),
            "renamed": [{"from": a, "to": b} for a, b in self.renamed],
            "changed": list(self.changed),
            "orphaned": {k: dict(v) for k, v in self.orphaned.items()},
        }


def _looks_alike(old: Codebook, new: Codebook, a: str, b: str) -> bool:
    before, after = old.domain(a), new.domain(b)
    return before.name.casefold() == after.name.casefold() or (
        bool(before.description) and before.description == after.description
    )


def diff(
    old: Codebook,
    new: Codebook,
    holdings: Mapping[str, Mapping[str, int]],
    operations: Sequence[Operation] = (),
) -> CodebookDiff:
    """Added and removed domains, likely renames (same name or description), changed domains, and
    the removed ids whose codes (``holdings``: {id: {kind: count}}) no operation covers."""
    old_ids, new_ids = set(old.domain_ids), set(new.domain_ids)
    added = tuple(d for d in new.domain_ids if d not in old_ids)
    removed = tuple(d for d in old.domain_ids if d not in new_ids)
    covered = {s for op in operations for s in op.sources}
    renamed = tuple(
        (a, b) for a in removed if a not in covered for b in added if _looks_alike(old, new, a, b)
    )
    changed = tuple(d for d in old.domain_ids if d in new_ids and old.domain(d) != new.domain(d))
    orphaned = {
        d: held
        for d in removed
        if d not in covered
        for held in [{k: n for k, n in holdings.get(d, {}).items() if n and k not in NOT_CODES}]
        if held
    }
    return CodebookDiff(added, removed, renamed, changed, orphaned)


def check_operations(
    old: Codebook, new: Codebook, operations: Sequence[Operation], retired_ids: Iterable[str] = ()
) -> None:
    """Refuse operations that cannot hold: one clear line naming the domain (nothing is changed)."""
    old_ids, new_ids = set(old.domain_ids), set(new.domain_ids)
    retired = set(retired_ids)
    reused = sorted(retired & new_ids)
    if reused:
        raise InputError(
            f"domain id {reused[0]!r} was moved away or retired in an earlier version; "
            "a domain in the new codebook needs an id never used before"
        )
    seen: dict[str, Operation] = {}
    for op in operations:
        for source in op.sources:
            if source not in old_ids:
                raise InputError(
                    f"{op.describe()}: unknown domain {source!r}: the current codebook has "
                    f"{', '.join(old.domain_ids)}"
                )
            if source in seen:
                raise InputError(
                    f"domain {source!r} is named by two operations: {seen[source].describe()} "
                    f"and {op.describe()}"
                )
            seen[source] = op
    renames = {op.sources[0]: op.targets[0] for op in operations if op.kind == RENAME}
    for start in renames:
        path, current = [start], renames[start]
        while current in renames and current not in path:
            path.append(current)
            current = renames[current]
        if current in path:
            raise InputError(f"a cycle of renames: {' -> '.join([*path, current])}; rename through a new id")
    for op in operations:
        for target in op.targets:
            if target not in new_ids:
                raise InputError(f"{op.describe()}: the new codebook has no domain {target!r}")
            if target in seen and not (op.kind == MERGE and target in op.sources):
                raise InputError(
                    f"{op.describe()}: {target!r} is itself {seen[target].kind}d by "
                    f"{seen[target].describe()}; an id cannot be moved away and taken in one apply"
                )
            if target in old_ids and target not in op.sources:
                before, after = old.domain(target), new.domain(target)
                meaning = "" if before.name == after.name else f" ({before.name!r}, now {after.name!r})"
                raise InputError(
                    f"{op.describe()}: {target!r} is already a domain of the current codebook{meaning} "
                    f"with its own meaning and codes; name it among the sources or choose a new id"
                )
            if target in retired:
                raise InputError(f"{op.describe()}: {target!r} was used before; choose a new id")
        for source in op.sources:
            kept = op.kind == MERGE and source == op.targets[0]
            if source in new_ids and not kept:
                raise InputError(
                    f"{op.describe()}: the new codebook still has {source!r}; "
                    "an operation's old domains leave the codebook"
                )
