"""Cross-analysis frequencies: memberships and cases in, the result document (docs/formats.md section 6) out.

Pure: the store and the CSV command both hand in plain data. Counting follows
cqr/rules.md R2: a category's frequency is the number of distinct cases in it
(a parent counts the union of its own cases and its subcategories' cases).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from typing import Any

from transcode.cross.labels import (
    DEFAULT_MEANINGFUL,
    LABELS,
    DifferenceRule,
    Profile,
    label_subgroup,
    meaningful,
    shown_label,
    two_categories_apart,
)
from transcode.errors import InputError

DEFAULT_OTHER_NAMES = frozenset(
    {
        "other",
        "miscellaneous",
        "misc",
        "other/miscellaneous",
        "other / miscellaneous",
        "other (miscellaneous)",
    }
)
_LABEL_RANK = {name: rank for rank, name in enumerate((*LABELS, "single", "absent"))}
_RESERVED_GROUP_NAMES = frozenset({"meaningful", "higher", "difference", "compared"})


@dataclass(frozen=True)
class Membership:
    """One case having at least one core idea in a category (or its subcategory)."""

    case: str
    domain: str
    subdomain: str
    category: str
    subcategory: str = ""


@dataclass(frozen=True)
class Comparison:
    """Compare cases whose ``attribute`` is ``group_a`` with those whose value is ``group_b``."""

    attribute: str
    group_a: str = "high"
    group_b: str = "low"

    def __post_init__(self) -> None:
        if not self.attribute:
            raise ValueError("a comparison needs an attribute name")
        if not self.group_a or not self.group_b or self.group_a.casefold() == self.group_b.casefold():
            raise ValueError(f"comparison on {self.attribute!r} needs two different values")
        reserved = {self.group_a, self.group_b} & _RESERVED_GROUP_NAMES
        if reserved:
            raise ValueError(f"{', '.join(sorted(reserved))} cannot name a subgroup (the output uses it)")

    @property
    def groups(self) -> tuple[str, str]:
        return self.group_a, self.group_b


@dataclass(frozen=True)
class CrossOptions:
    profile: Profile = field(default_factory=Profile)
    meaningful: Fraction = DEFAULT_MEANINGFUL
    difference_rule: DifferenceRule = "pct30"
    comparisons: tuple[Comparison, ...] = ()
    other_names: frozenset[str] = DEFAULT_OTHER_NAMES
    #: Codebook order, where known; otherwise domains come in order of first appearance.
    domain_order: tuple[str, ...] = ()
    #: Codebook order of category names, used to break ties before the name.
    category_order: tuple[str, ...] = ()


def percent(k: int, n: int) -> float:
    """k/n as a percentage rounded half-up to two decimals (display only; decisions use integers)."""
    exact = Fraction(100 * k, n)
    rounded = (Decimal(exact.numerator) / Decimal(exact.denominator)).quantize(
        Decimal("0.01"), rounding=ROUND_HALF_UP
    )
    return float(rounded)


def case_sets(memberships: Iterable[Membership]) -> dict[tuple[str, str, str, str], set[str]]:
    """Distinct cases per (domain, subdomain, category, subcategory); parents hold the union (R2.2)."""
    sets: dict[tuple[str, str, str, str], set[str]] = {}
    for m in memberships:
        sets.setdefault((m.domain, m.subdomain, m.category, ""), set()).add(m.case)
        if m.subcategory:
            sets.setdefault((m.domain, m.subdomain, m.category, m.subcategory), set()).add(m.case)
    return sets


def attribute_value(attributes: Mapping[str, str], name: str) -> str:
    """The value of the attribute ``name``: names match case-insensitively, as values do (a CASES.csv
    column ``Anxiety`` is the attribute ``--compare anxiety`` names, whether read from the file or
    from the store)."""
    wanted = name.casefold()
    return next((value or "" for key, value in attributes.items() if key.casefold() == wanted), "")


def subgroups(cases: Mapping[str, Mapping[str, str]], comparison: Comparison) -> tuple[set[str], set[str]]:
    """Cases in each compared group; values match case-insensitively; others are left out."""
    wanted_a, wanted_b = comparison.group_a.casefold(), comparison.group_b.casefold()
    group_a, group_b = set(), set()
    for case, attributes in cases.items():
        value = attribute_value(attributes, comparison.attribute).strip().casefold()
        if value == wanted_a:
            group_a.add(case)
        elif value == wanted_b:
            group_b.add(case)
    return group_a, group_b


def check_inputs(
    memberships: list[Membership], cases: Mapping[str, Mapping[str, str]], options: CrossOptions
) -> None:
    """Raise InputError for data the rules cannot label (the CLI adds file names)."""
    if not cases:
        raise InputError("the sample has no cases")
    unknown = sorted({m.case for m in memberships} - set(cases))
    if unknown:
        raise InputError(f"membership names case(s) not in the sample: {', '.join(unknown)}")
    attributes = {name for attrs in cases.values() for name in attrs}
    known = {name.casefold() for name in attributes}
    seen = set()
    for comparison in options.comparisons:
        wanted = comparison.attribute.casefold()
        if wanted in seen:
            raise InputError(f"attribute {comparison.attribute!r} is compared twice; compare it once")
        seen.add(wanted)
        for case, attrs in cases.items():
            twice = sorted(name for name in attrs if name.casefold() == wanted)
            if len(twice) > 1:
                raise InputError(
                    f"case {case!r} has attribute {comparison.attribute!r} twice ({', '.join(twice)})"
                )
        if wanted not in known:
            raise InputError(
                f"no case attribute {comparison.attribute!r} to compare "
                f"(attributes: {', '.join(sorted(attributes)) or 'none'})"
            )
        for name, group in zip(comparison.groups, subgroups(cases, comparison), strict=True):
            if not group:
                raise InputError(f"no case has {comparison.attribute} = {name}, so it cannot be compared")
    try:
        options.profile.validate(len(cases))
    except ValueError as err:
        raise InputError(str(err)) from None


def cross_analysis(
    memberships: Iterable[Membership],
    cases: Mapping[str, Mapping[str, str]],
    options: CrossOptions | None = None,
) -> dict:
    """The docs/formats.md section 6 document for these memberships over this sample of cases."""
    options = options or CrossOptions()
    memberships = list(memberships)
    check_inputs(memberships, cases, options)
    n_cases = len(cases)
    groups = {c.attribute: subgroups(cases, c) for c in options.comparisons}
    sets = case_sets(memberships)

    rows = []
    for key in _ordered_keys(memberships, sets, options, n_cases):
        domain, subdomain, category, subcategory = key
        members = sets[key]
        is_other = _is_other(subcategory or category, options)
        label = "single" if is_other else options.profile.label(len(members), n_cases)
        row: dict[str, Any] = {
            "domain": domain,
            "subdomain": subdomain,
            "category": category,
            "subcategory": subcategory,
            "level": "subcategory" if subcategory else "category",
            "count": len(members),
            "percent": percent(len(members), n_cases),
            "label": shown_label(label),
            "other": is_other,
            "cases": sorted(members),
        }
        if options.comparisons:
            compared = not is_other and len(members) >= 2
            row["compare"] = {
                c.attribute: _compare_block(members, c, groups[c.attribute], compared, options)
                for c in options.comparisons
            }
        rows.append(row)

    return {
        "n_cases": n_cases,
        "profile": options.profile.describe(),
        "meaningful_threshold": float(options.meaningful),
        "difference_rule": options.difference_rule,
        "cutoffs": {name: list(span) for name, span in options.profile.cutoffs(n_cases).items()},
        "comparisons": [
            _comparison_summary(c, groups[c.attribute], cases, rows) for c in options.comparisons
        ],
        "warnings": _warnings(n_cases, rows, options, groups),
        "categories": rows,
    }


def _is_other(name: str, options: CrossOptions) -> bool:
    return name.strip().casefold() in options.other_names


def _compare_block(
    members: set[str],
    comparison: Comparison,
    groups: tuple[set[str], set[str]],
    compared: bool,
    options: CrossOptions,
) -> dict:
    block: dict = {}
    labels = []
    for name, group in zip(comparison.groups, groups, strict=True):
        k, n = len(members & group), len(group)
        label = label_subgroup(k, n) if compared else "single"
        labels.append(label)
        block[name] = {"n": n, "count": k, "percent": percent(k, n), "label": shown_label(label)}
    (k_a, n_a), (k_b, n_b) = ((block[g]["count"], block[g]["n"]) for g in comparison.groups)
    if options.difference_rule == "two_categories":
        differs = two_categories_apart(*labels)
    else:
        differs = meaningful(k_a, n_a, k_b, n_b, options.meaningful)
    side = k_a * n_b - k_b * n_a
    block["meaningful"] = compared and differs
    block["higher"] = comparison.group_a if side > 0 else comparison.group_b if side < 0 else None
    block["difference"] = percent(abs(side), n_a * n_b)
    block["compared"] = compared
    return block


def _comparison_summary(
    comparison: Comparison,
    groups: tuple[set[str], set[str]],
    cases: Mapping[str, Mapping[str, str]],
    rows: list[dict],
) -> dict:
    blocks = [row["compare"][comparison.attribute] for row in rows]
    flagged = [b for b in blocks if b["meaningful"]]
    return {
        "attribute": comparison.attribute,
        "groups": list(comparison.groups),
        "n": {name: len(group) for name, group in zip(comparison.groups, groups, strict=True)},
        "excluded": sorted(set(cases) - groups[0] - groups[1]),
        "meaningful_count": len(flagged),
        "higher_count": {name: sum(1 for b in flagged if b["higher"] == name) for name in comparison.groups},
    }


def _warnings(
    n_cases: int, rows: list[dict], options: CrossOptions, groups: dict[str, tuple[set[str], set[str]]]
) -> list[str]:
    warnings = []
    if n_cases < 4:
        warnings.append(f"N = {n_cases} is far below the 8-15 cases CQR recommends; the labels say little")
    elif n_cases < 8:
        warnings.append(f"N = {n_cases} is below the 8-15 cases CQR recommends")
    for comparison in options.comparisons:
        for name, group in zip(comparison.groups, groups[comparison.attribute], strict=True):
            if len(group) < 4:
                warnings.append(f"subgroup {comparison.attribute} = {name} has only {len(group)} case(s)")
        left_out = n_cases - sum(len(g) for g in groups[comparison.attribute])
        if left_out:
            warnings.append(
                f"{left_out} case(s) have neither {comparison.attribute} = {comparison.group_a} "
                f"nor {comparison.group_b} and are left out of that comparison"
            )
    singles = [r for r in rows if r["count"] == 1 and not r["other"]]
    if singles:
        warnings.append(f"{len(singles)} row(s) apply to a single case; CQR moves such core ideas to Other")
    return warnings


def _ordered_keys(
    memberships: list[Membership],
    sets: dict[tuple[str, str, str, str], set[str]],
    options: CrossOptions,
    n_cases: int,
) -> list[tuple[str, str, str, str]]:
    """Row order of rules.md section 6: domains, then label, count, codebook order, name; Other last."""
    domains = list(
        dict.fromkeys(
            [
                *(d for d in options.domain_order if any(m.domain == d for m in memberships)),
                *(m.domain for m in memberships),
            ]
        )
    )
    subdomains = {d: list(dict.fromkeys(m.subdomain for m in memberships if m.domain == d)) for d in domains}
    codebook_rank = {name.casefold(): i for i, name in enumerate(options.category_order)}

    def sort_key(key: tuple[str, str, str, str]) -> tuple:
        name = key[3] or key[2]
        label = options.profile.label(len(sets[key]), n_cases)
        return (
            _is_other(name, options),
            _LABEL_RANK[label],
            -len(sets[key]),
            codebook_rank.get(name.casefold(), len(codebook_rank)),
            name.casefold(),
            name,
        )

    ordered = []
    for domain in domains:
        for subdomain in subdomains[domain]:
            parents = [k for k in sets if k[0] == domain and k[1] == subdomain and not k[3]]
            for parent in sorted(parents, key=sort_key):
                ordered.append(parent)
                children = [k for k in sets if k[:3] == parent[:3] and k[3]]
                ordered.extend(sorted(children, key=sort_key))
    return ordered


def stability_check(
    memberships: Iterable[Membership],
    cases: Iterable[str],
    withheld: Iterable[str],
    profile: Profile | None = None,
    tolerate_one_step: bool = False,
) -> dict:
    """The optional CQR stability check (rules.md 7.6): do the withheld cases change anything?

    Reports categories only the withheld cases need, and every label that differs between
    the analysis without them (N - w cases) and with them (N cases), each under its own cutoffs.
    """
    profile = profile or Profile()
    memberships, cases, withheld = list(memberships), set(cases), set(withheld)
    if len(withheld) < 2 or not withheld <= cases:
        raise ValueError("withhold at least two cases of the sample")
    n_all, n_kept = len(cases), len(cases) - len(withheld)
    all_sets = case_sets(memberships)
    kept_sets = case_sets(m for m in memberships if m.case not in withheld)
    new_categories: list[dict] = []
    changes: list[dict[str, Any]] = []
    for key, members in all_sets.items():
        k_kept = len(kept_sets.get(key, ()))
        if k_kept == 0:
            new_categories.append({"key": list(key), "cases": sorted(members)})
            continue
        before, after = profile.label(k_kept, n_kept), profile.label(len(members), n_all)
        if before != after:
            steps = abs(_LABEL_RANK[before] - _LABEL_RANK[after])
            changes.append({"key": list(key), "before": before, "after": after, "steps": steps})
    counted = [c for c in changes if not (tolerate_one_step and c["steps"] <= 1)]
    return {
        "n_kept": n_kept,
        "n_all": n_all,
        "new_categories": new_categories,
        "label_changes": changes,
        "stable": not new_categories and not counted,
    }
