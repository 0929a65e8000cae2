"""CQR frequency labels and the meaningful-difference rule (cqr/rules.md sections 3-5).

Pure integer (or exact-fraction) arithmetic throughout: a float comparison
would call 7/10 against 4/10 a 29.999...-point difference.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Literal

RareMode = Literal["auto", "on", "off"]
DifferenceRule = Literal["pct30", "two_categories"]

#: Labels a category can carry, highest first. "single" (one case) and "absent" are never shown.
LABELS: tuple[str, ...] = ("general", "typical", "variant", "rare")
UNLABELLED = ("single", "absent")
PROFILES: tuple[str, ...] = ("hill2005", "hill1997", "custom")
DEFAULT_MEANINGFUL = Fraction(3, 10)

_ABBREVIATION = {"general": "G", "typical": "T", "variant": "V", "rare": "R"}
#: Rungs for the older "two frequency categories apart" rule; no label sits on the bottom rung with rare.
_RUNG = {"general": 3, "typical": 2, "variant": 1, "rare": 0, "single": 0, "absent": 0}


def label_full(k: int, n: int, profile: str = "hill2005", rare: bool | None = None) -> str:
    """Label of a category found in ``k`` of ``n`` cases (rules.md section 9, normative)."""
    if not 0 <= k <= n:
        raise ValueError(f"a category cannot apply to {k} of {n} cases")
    if k == 0:
        return "absent"
    if k == 1:
        return "single"
    if profile == "hill1997":
        if k == n:
            return "general"
        return "typical" if 2 * k >= n else "variant"
    use_rare = (n > 15) if rare is None else rare
    if k >= n - 1:
        return "general"
    if 2 * k > n:
        return "typical"
    if use_rare and k <= 3:
        return "rare"
    return "variant"


def label_subgroup(k: int, n: int) -> str:
    """Label within a compared subgroup: general means all of it; rare is never used."""
    if not 0 <= k <= n:
        raise ValueError(f"a category cannot apply to {k} of {n} cases in a subgroup")
    if k == 0:
        return "absent"
    if k == 1:
        return "single"
    if k == n:
        return "general"
    return "typical" if 2 * k > n else "variant"


def meaningful(k_a: int, n_a: int, k_b: int, n_b: int, threshold: Fraction = DEFAULT_MEANINGFUL) -> bool:
    """Whether k_a/n_a and k_b/n_b differ by at least ``threshold`` (exactly, in integers)."""
    if n_a <= 0 or n_b <= 0:
        raise ValueError("both subgroups need at least one case")
    return threshold.denominator * abs(k_a * n_b - k_b * n_a) >= threshold.numerator * n_a * n_b


def two_categories_apart(label_a: str, label_b: str) -> bool:
    """The older rule (H05): labels at least two rungs apart, e.g. general vs variant."""
    return abs(_RUNG[label_a] - _RUNG[label_b]) >= 2


def shown_label(label: str) -> str:
    """The label as the contract prints it: single and absent become ``""``."""
    return "" if label in UNLABELLED else label


def abbreviation(label: str) -> str:
    return _ABBREVIATION.get(label, "")


def parse_fraction(text: str) -> Fraction:
    """``0.30``, ``30%`` or ``3/10`` as an exact fraction (for ``--meaningful``)."""
    cleaned = text.strip()
    try:
        if cleaned.endswith("%"):
            return Fraction(cleaned[:-1].strip()) / 100
        return Fraction(cleaned)
    except (ValueError, ZeroDivisionError):
        raise ValueError(f"not a proportion: {text!r}") from None


# --- custom profiles -------------------------------------------------------------------------------

_COMPARISON = re.compile(r"^\s*(>=|<=|==|=|>|<)\s*(.+?)\s*$")
_N_OFFSET = re.compile(r"^N\s*(?:([+-])\s*(\d+))?$", re.IGNORECASE)


@dataclass(frozen=True)
class Bound:
    """``k OP (coef * N + offset)``; coef and offset are exact fractions."""

    op: str
    coef: Fraction
    offset: Fraction

    def holds(self, k: int, n: int) -> bool:
        limit = self.coef * n + self.offset
        return {
            ">=": k >= limit,
            ">": k > limit,
            "<=": k <= limit,
            "<": k < limit,
            "=": k == limit,
        }[self.op]

    @property
    def is_upper(self) -> bool:
        return self.op in ("<", "<=", "=")


def _parse_value(text: str) -> tuple[Fraction, Fraction]:
    """``N``, ``N-1``, ``4`` (cases), ``1/2``, ``0.5`` or ``50%`` (shares of N)."""
    match = _N_OFFSET.match(text)
    if match:
        sign, amount = match.groups()
        offset = Fraction(int(amount or 0)) * (-1 if sign == "-" else 1)
        return Fraction(1), offset
    try:
        if text.endswith("%"):
            return Fraction(text[:-1].strip()) / 100, Fraction(0)
        if "/" in text or "." in text:
            return Fraction(text), Fraction(0)
        return Fraction(0), Fraction(int(text))
    except (ValueError, ZeroDivisionError):
        raise ValueError(f"cannot read {text!r}: use N, N-1, a count, 1/2, 0.5 or 50%") from None


def parse_condition(text: str) -> tuple[Bound, ...]:
    """``"> 1/2 and < N-1"`` as bounds; every one must hold."""
    bounds = []
    for part in re.split(r"\s+and\s+|,", text.strip()):
        match = _COMPARISON.match(part)
        if not match:
            raise ValueError(f"cannot read condition {part!r}: write e.g. '>= N-1' or '> 1/2'")
        op, value = match.groups()
        coef, offset = _parse_value(value)
        bounds.append(Bound("=" if op == "==" else op, coef, offset))
    return tuple(bounds)


@dataclass(frozen=True)
class Profile:
    """A labelling profile: hill2005 (default), hill1997 (legacy) or custom bands.

    A custom band with no upper bound stops where the band above it starts, so the
    rules.md example ``{general: ">= N-1", typical: "> 1/2", variant: ">= 2"}`` reads
    as intended; explicit bounds that overlap or leave a gap are rejected for each N.
    """

    name: str = "hill2005"
    rare: RareMode = "auto"
    bands: tuple[tuple[str, tuple[Bound, ...]], ...] = field(default=())

    def __post_init__(self) -> None:
        if self.name not in PROFILES:
            raise ValueError(f"unknown profile {self.name!r}; choose from {', '.join(PROFILES)}")
        if self.rare not in ("auto", "on", "off"):
            raise ValueError(f"rare must be auto, on or off, not {self.rare!r}")
        if self.name == "custom" and not self.bands:
            raise ValueError("a custom profile needs bands, e.g. {general: '>= N-1', variant: '>= 2'}")

    def label(self, k: int, n: int) -> str:
        if self.name != "custom":
            rare = {"auto": None, "on": True, "off": False}[self.rare]
            return label_full(k, n, self.name, rare)
        if not 0 <= k <= n:
            raise ValueError(f"a category cannot apply to {k} of {n} cases")
        if k < 2:
            return "absent" if k == 0 else "single"
        matches = self._matching_bands(k, n)
        return matches[0] if matches else "single"

    def _matching_bands(self, k: int, n: int) -> list[str]:
        matched: list[str] = []
        for name, bounds in self.bands:
            if not all(b.holds(k, n) for b in bounds):
                continue
            has_upper = any(b.is_upper for b in bounds)
            if matched and not has_upper:
                continue  # an open-ended band stops where the band above it starts
            matched.append(name)
        return matched

    def validate(self, n: int) -> None:
        """Raise ValueError when custom bands overlap or leave some k in 2..N unlabelled."""
        if self.name != "custom":
            return
        gaps = [k for k in range(2, n + 1) if not self._matching_bands(k, n)]
        overlaps = {k: m for k in range(2, n + 1) if len(m := self._matching_bands(k, n)) > 1}
        problems = []
        if gaps:
            problems.append(f"no band covers k = {', '.join(map(str, gaps))}")
        if overlaps:
            problems.append("; ".join(f"k = {k} falls in {' and '.join(m)}" for k, m in overlaps.items()))
        if problems:
            raise ValueError(f"custom bands for N = {n}: " + "; ".join(problems))

    def cutoffs(self, n: int) -> dict[str, tuple[int, int]]:
        """The k range of each label at this N, highest label first (for table notes)."""
        ranges: dict[str, list[int]] = {}
        for k in range(2, n + 1):
            ranges.setdefault(self.label(k, n), []).append(k)
        return {name: (min(ranges[name]), max(ranges[name])) for name in LABELS if name in ranges}

    def describe(self) -> dict:
        described: dict = {"name": self.name, "rare": self.rare}
        if self.name == "custom":
            described["bands"] = {name: _describe_bounds(bounds) for name, bounds in self.bands}
        return described


def _describe_bounds(bounds: tuple[Bound, ...]) -> str:
    def value(b: Bound) -> str:
        if b.coef == 0:
            return str(b.offset)
        if b.coef == 1:
            return "N" if b.offset == 0 else f"N{b.offset:+}"
        return f"{b.coef}"

    return " and ".join(f"{b.op} {value(b)}" for b in bounds)


def custom_profile(bands: Mapping[str, str]) -> Profile:
    """Build a custom profile from ``{label: condition}``; labels must be general/typical/variant/rare."""
    unknown = [name for name in bands if name not in LABELS]
    if unknown:
        raise ValueError(f"unknown label(s) {', '.join(unknown)}; use {', '.join(LABELS)}")
    ordered = tuple((name, parse_condition(str(bands[name]))) for name in LABELS if name in bands)
    return Profile(name="custom", bands=ordered)
