"""The rules of a judge's codes, without a store: the decision log, its fold, undo and acceptance.

A judge's decisions are an append-only log of ``(unit, domain, action)``: the
latest decision per unit and domain is current; ``other`` (no domain) clears a
unit's domains and a later domain decision clears ``other``. Undo and notes
append decisions instead of editing them, so nothing a judge did is lost.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol, TypeVar

from transcode.errors import InputError

#: What a decision log is keyed by: a unit, or (judge, unit) where several judges' logs fold at once.
K = TypeVar("K", bound=Hashable)

OTHER = "other"
APPLIES = ("accepted", "added")
NOT_APPLIES = ("rejected", "removed")
ACTIONS = (*APPLIES, *NOT_APPLIES, OTHER)
#: The coding queue's orders: as the transcripts run, or least certain proposal first.
Order = Literal["transcript", "uncertainty"]
ORDERS: tuple[Order, ...] = ("transcript", "uncertainty")


@dataclass(frozen=True)
class Decision:
    """One row to append to a judge's decision log."""

    domain: str | None
    action: str
    note: str | None = None
    model_version: str | None = None


class Suggestion(Protocol):
    """A model's proposal for one unit, as the coding rules read it."""

    @property
    def suggested(self) -> frozenset[str]: ...

    @property
    def model_version(self) -> str: ...


def check_decisions(decisions: Iterable[Decision]) -> None:
    """Refuse an unknown action, or a domain with ``other`` (or none without it)."""
    for d in decisions:
        if d.action not in ACTIONS:
            raise InputError(f"unknown action {d.action!r}")
        if (d.action == OTHER) != (d.domain is None):
            raise InputError("'other' takes no domain; every other action needs one")


def current_codes(rows: Iterable[tuple[K, str | None, str]]) -> dict[K, frozenset[str]]:
    """Fold an ordered decision log into each unit's current set of codes.

    The latest decision per (unit, domain) wins; "other" clears the unit's
    domains and a later domain decision clears "other".
    """
    state: dict[K, dict[str, bool]] = defaultdict(dict)
    for key, domain, action in rows:
        if action == OTHER or domain is None:
            state[key] = {OTHER: True}
        else:
            state[key].pop(OTHER, None)
            state[key][domain] = action in APPLIES
    return {key: frozenset(d for d, on in domains.items() if on) for key, domains in state.items()}


def fold(codes: frozenset[str], decisions: Sequence[Decision]) -> frozenset[str]:
    """A unit's codes after appending ``decisions``, folded by :func:`current_codes`."""
    start = [("u", None, OTHER)] if OTHER in codes else [("u", d, "added") for d in sorted(codes)]
    rows = [*start, *(("u", d.domain, d.action) for d in decisions)]
    return current_codes(rows).get("u", frozenset())


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


def accept_decisions(current: frozenset[str], proposal: Suggestion) -> list[Decision]:
    """Take the model's suggestion as it stands: its domains, or "other" when it suggests none."""
    if not proposal.suggested:
        return [Decision(None, OTHER, model_version=proposal.model_version)]
    out = [Decision(d, "accepted", model_version=proposal.model_version) for d in sorted(proposal.suggested)]
    out += [Decision(d, "removed") for d in sorted(current - proposal.suggested - {OTHER})]
    return out


def is_coded(codes: frozenset[str] | None) -> bool:
    """A unit counts as coded once it holds a domain or "other" (an emptied unit does not)."""
    return bool(codes)


def case_progress(
    units: Iterable[tuple[str, str]], codes: Mapping[str, frozenset[str]]
) -> dict[str, tuple[int, int]]:
    """``{case: (coded, total)}`` over ``(case, unit)`` pairs, in order of first appearance."""
    out: dict[str, list[int]] = {}
    for case, key in units:
        counts = out.setdefault(case, [0, 0])
        counts[0] += is_coded(codes.get(key))
        counts[1] += 1
    return {case: (done, total) for case, (done, total) in out.items()}


@dataclass(frozen=True)
class Acceptance:
    """How many of the judge's coded units keep exactly the codes taken from the model."""

    accepted: int
    coded: int

    @property
    def rate(self) -> float | None:
        return self.accepted / self.coded if self.coded else None


def acceptance(
    rows: Iterable[tuple[str, str | None, str, str | None]], last: int | None = None
) -> Acceptance:
    """Fold ``(unit, domain, action, model_version)`` log rows, oldest first, into the acceptance count.

    A unit counts as accepted when every code it holds came from taking the
    model's suggestion (a decision that carries the model version). With ``last``,
    only the ``last`` coded units decided most recently count.
    """
    tally = AcceptanceTally(rows)
    return tally.overall() if last is None else tally.recent(last)


class AcceptanceTally:
    """:func:`acceptance` kept up to date one decision at a time (the coding room's running count).

    Adding a decision costs the same however long the log is: the counts change by what the
    one unit contributes, and the recent window walks back from the latest unit only.
    """

    def __init__(self, rows: Iterable[tuple[str, str | None, str, str | None]] = ()) -> None:
        #: unit -> {domain: (applies, taken from the model)}; insertion order = latest decided last
        self._held: dict[str, dict[str, tuple[bool, bool]]] = {}
        self._status: dict[str, tuple[bool, bool]] = {}  # unit -> (accepted, coded)
        self.accepted = 0
        self.coded = 0
        for row in rows:
            self.add(*row)

    def add(self, key: str, domain: str | None, action: str, version: str | None) -> None:
        held = self._held.pop(key, {})
        if action == OTHER or domain is None:
            held = {OTHER: (True, version is not None)}
        else:
            held.pop(OTHER, None)
            held[domain] = (action in APPLIES, version is not None)
        self._held[key] = held
        from_model = [m for applies, m in held.values() if applies]
        coded = bool(from_model)
        accepted = coded and all(from_model)
        was_accepted, was_coded = self._status.get(key, (False, False))
        self._status[key] = (accepted, coded)
        self.accepted += accepted - was_accepted
        self.coded += coded - was_coded

    def overall(self) -> Acceptance:
        return Acceptance(self.accepted, self.coded)

    def recent(self, last: int) -> Acceptance:
        """Over the ``last`` coded units decided most recently."""
        kept: list[bool] = []
        for key in reversed(self._held):
            if len(kept) >= last:
                break
            accepted, coded = self._status[key]
            if coded:
                kept.append(accepted)
        return Acceptance(sum(kept), len(kept))
