"""CQR frequency labels (cqr/rules.md sections 3-5) at every cutoff boundary."""

from __future__ import annotations

import json
from fractions import Fraction

import pytest

from tests.support import SHARED
from transcode.cross.labels import (
    Profile,
    custom_profile,
    label_full,
    label_subgroup,
    meaningful,
    parse_fraction,
    two_categories_apart,
)

LABEL_CASES = SHARED / "cqr" / "label_cases.json"


def _label_cases(section: str) -> list[dict]:
    if not LABEL_CASES.is_file():
        return []
    return [case for case in json.loads(LABEL_CASES.read_text())[section] if "note" not in case]


needs_shared = pytest.mark.skipif(not LABEL_CASES.is_file(), reason="../shared/cqr/label_cases.json absent")


@needs_shared
@pytest.mark.shared
@pytest.mark.parametrize("case", _label_cases("full_sample"), ids=lambda c: f"N{c['N']}-k{c['k']}")
def test_full_sample_label_cases(case):
    assert label_full(case["k"], case["N"]) == case["label"]
    assert Profile().label(case["k"], case["N"]) == case["label"]


@needs_shared
@pytest.mark.shared
@pytest.mark.parametrize("case", _label_cases("full_sample_hill1997"), ids=lambda c: f"N{c['N']}-k{c['k']}")
def test_hill1997_label_cases(case):
    assert Profile("hill1997").label(case["k"], case["N"]) == case["label"]


@needs_shared
@pytest.mark.shared
@pytest.mark.parametrize("case", _label_cases("subgroup"), ids=lambda c: f"n{c['n']}-k{c['k']}")
def test_subgroup_label_cases(case):
    assert label_subgroup(case["k"], case["n"]) == case["label"]


@needs_shared
@pytest.mark.shared
@pytest.mark.parametrize(
    "case", _label_cases("subgroup_difference"), ids=lambda c: f"{c['k1']}/{c['n1']}-{c['k2']}/{c['n2']}"
)
def test_subgroup_difference_cases(case):
    assert meaningful(case["k1"], case["n1"], case["k2"], case["n2"]) is case["meaningful"]


# Every k at N = 8, 14, 15, 16, 20, written out from the rules' cutoff table.
BOUNDARIES = {
    8: {1: "single", 2: "variant", 4: "variant", 5: "typical", 6: "typical", 7: "general", 8: "general"},
    14: {2: "variant", 7: "variant", 8: "typical", 12: "typical", 13: "general", 14: "general"},
    15: {2: "variant", 3: "variant", 7: "variant", 8: "typical", 13: "typical", 14: "general"},
    16: {2: "rare", 3: "rare", 4: "variant", 8: "variant", 9: "typical", 14: "typical", 15: "general"},
    20: {
        1: "single",
        2: "rare",
        3: "rare",
        4: "variant",
        10: "variant",
        11: "typical",
        18: "typical",
        19: "general",
        20: "general",
    },
}


@pytest.mark.parametrize(
    ("n", "k", "label"), [(n, k, lab) for n, ks in BOUNDARIES.items() for k, lab in ks.items()]
)
def test_full_sample_boundaries(n, k, label):
    assert label_full(k, n) == label


@pytest.mark.parametrize(
    ("n", "expected"),
    [
        (8, {"general": (7, 8), "typical": (5, 6), "variant": (2, 4)}),
        (14, {"general": (13, 14), "typical": (8, 12), "variant": (2, 7)}),
        (15, {"general": (14, 15), "typical": (8, 13), "variant": (2, 7)}),
        (16, {"general": (15, 16), "typical": (9, 14), "variant": (4, 8), "rare": (2, 3)}),
        (20, {"general": (19, 20), "typical": (11, 18), "variant": (4, 10), "rare": (2, 3)}),
        (4, {"general": (3, 4), "variant": (2, 2)}),
        (2, {"general": (2, 2)}),
    ],
)
def test_cutoff_table(n, expected):
    assert Profile().cutoffs(n) == expected


def test_rare_switch_is_configurable():
    assert Profile(rare="off").label(2, 16) == "variant"
    assert Profile(rare="on").label(2, 14) == "rare"
    assert Profile(rare="on").label(4, 14) == "variant"
    assert Profile(rare="auto").label(3, 16) == "rare"


@pytest.mark.parametrize(
    ("n", "expected"),
    [
        (4, ["absent", "single", "variant", "typical", "general"]),
        (5, ["absent", "single", "variant", "typical", "typical", "general"]),
        (6, ["absent", "single", "variant", "variant", "typical", "typical", "general"]),
    ],
)
def test_subgroup_boundaries(n, expected):
    assert [label_subgroup(k, n) for k in range(n + 1)] == expected


def test_exactly_half_is_never_typical():
    for n in range(4, 41, 2):
        assert label_full(n // 2, n) != "typical"


def test_labels_rise_with_k_and_rare_only_above_15():
    rank = {"rare": 0, "variant": 0, "typical": 1, "general": 2}
    for n in range(4, 41):
        labels = [label_full(k, n) for k in range(2, n + 1)]
        assert [rank[x] for x in labels] == sorted(rank[x] for x in labels)
        assert ("rare" in labels) == (n > 15)


def test_meaningful_uses_exact_arithmetic():
    assert meaningful(7, 10, 4, 10)  # 0.7 - 0.4 is 0.2999... in floats
    assert meaningful(3, 4, 2, 6)  # 75% vs 33%: 42 points
    assert not meaningful(2, 4, 3, 6)  # 50% vs 50%
    assert meaningful(1, 5, 5, 5)
    assert not meaningful(4, 10, 1, 10, Fraction(31, 100))
    with pytest.raises(ValueError):
        meaningful(1, 0, 1, 2)


def test_two_categories_rule():
    assert two_categories_apart("general", "variant")
    assert two_categories_apart("typical", "rare")
    assert two_categories_apart("typical", "single")
    assert not two_categories_apart("general", "typical")
    assert not two_categories_apart("variant", "single")


def test_parse_fraction_forms():
    assert parse_fraction("0.30") == parse_fraction("30%") == parse_fraction("3/10") == Fraction(3, 10)
    with pytest.raises(ValueError):
        parse_fraction("thirty")


def test_out_of_range_counts_raise():
    with pytest.raises(ValueError):
        label_full(15, 14)
    with pytest.raises(ValueError):
        label_subgroup(-1, 5)


def test_custom_profile_open_bands_match_hill2005_without_rare():
    profile = custom_profile({"general": ">= N-1", "typical": "> 1/2", "variant": ">= 2"})
    for n in (8, 14, 15, 20):
        profile.validate(n)
        assert [profile.label(k, n) for k in range(n + 1)] == [
            label_full(k, n, rare=False) for k in range(n + 1)
        ]


def test_custom_profile_percentage_bands():
    profile = custom_profile({"general": ">= 90%", "typical": ">= 50%", "variant": ">= 2"})
    assert profile.label(18, 20) == "general"
    assert profile.label(10, 20) == "typical"
    assert profile.label(9, 20) == "variant"


def test_custom_profile_rejects_overlap_and_gaps():
    overlapping = custom_profile({"general": ">= N-1", "typical": "> 1/2 and <= N"})
    with pytest.raises(ValueError, match="falls in general and typical"):
        overlapping.validate(10)
    gappy = custom_profile({"general": ">= N-1", "typical": "> 1/2", "variant": ">= 4"})
    with pytest.raises(ValueError, match="no band covers k = 2, 3"):
        gappy.validate(12)
    with pytest.raises(ValueError, match="unknown label"):
        custom_profile({"often": ">= 2"})
    with pytest.raises(ValueError, match="cannot read"):
        custom_profile({"general": "most"})
    with pytest.raises(ValueError, match="needs bands"):
        Profile("custom")
