"""Cross-analysis counting, row order, subgroup comparisons and the stability check."""

from __future__ import annotations

import json
from fractions import Fraction

import pytest

from tests.support import SHARED
from transcode.cross import (
    Comparison,
    CrossOptions,
    Membership,
    cross_analysis,
    custom_profile,
    stability_check,
)
from transcode.errors import InputError

LABEL_CASES = SHARED / "cqr" / "label_cases.json"
DOMAIN = "Rupture Antecedents"


def sample(n: int, anxiety: list[str] | None = None) -> dict[str, dict[str, str]]:
    values = anxiety or [""] * n
    return {f"c{i:02d}": {"anxiety": values[i - 1]} for i in range(1, n + 1)}


def members(category: str, cases: list[str], domain: str = DOMAIN, subcategory: str = "") -> list[Membership]:
    return [Membership(case, domain, "", category, subcategory) for case in cases]


def row(result: dict, category: str, subcategory: str = "") -> dict:
    return next(
        r for r in result["categories"] if r["category"] == category and r["subcategory"] == subcategory
    )


def test_contract_example_shape_and_values():
    cases = sample(14, ["high"] * 5 + ["low"] * 5 + ["mid"] * 4)
    tense = members(
        "Session started in tense state", ["c01", "c06", "c07", "c08", "c09", "c10", "c11", "c12"]
    )
    result = cross_analysis(tense, cases, CrossOptions(comparisons=(Comparison("anxiety"),)))
    assert result["n_cases"] == 14
    first = result["categories"][0]
    assert {k: first[k] for k in ("domain", "subdomain", "category", "count", "label")} == {
        "domain": DOMAIN,
        "subdomain": "",
        "category": "Session started in tense state",
        "count": 8,
        "label": "typical",
    }
    block = first["compare"]["anxiety"]
    assert block["high"] == {"n": 5, "count": 1, "percent": 20.0, "label": ""}
    assert block["low"] == {"n": 5, "count": 5, "percent": 100.0, "label": "general"}
    assert block["meaningful"] is True and block["higher"] == "low"
    assert result["comparisons"][0]["excluded"] == ["c11", "c12", "c13", "c14"]
    assert any("left out" in w for w in result["warnings"])
    json.dumps(result)  # the document is plain JSON


def test_duplicate_memberships_count_once():
    rows = members("Tense", ["c01", "c01", "c01", "c02"])
    result = cross_analysis(rows, sample(14))
    assert row(result, "Tense")["count"] == 2
    assert row(result, "Tense")["label"] == "variant"
    assert row(result, "Tense")["cases"] == ["c01", "c02"]


@pytest.mark.skipif(not LABEL_CASES.is_file(), reason="../shared/cqr/label_cases.json absent")
@pytest.mark.shared
def test_case_counting_cases_from_shared():
    for case in json.loads(LABEL_CASES.read_text())["case_counting"]:
        rows = []
        for case_id, path in case["assignments"]:
            category, _, subcategory = path.partition("/")
            rows.append(Membership(case_id, "D", "", category, subcategory))
        result = cross_analysis(rows, {f"c{i}": {} for i in range(1, case["N"] + 1)})
        if "labels" not in case:
            assert (row(result, "cat")["count"], row(result, "cat")["label"]) == (case["k"], case["label"])
            continue
        for path, label in case["labels"].items():
            category, _, subcategory = path.partition("/")
            assert row(result, category, subcategory)["label"] == (label if label != "single" else "")
        assert row(result, "P")["count"] == case["k_parent"]


def test_parent_counts_the_union_of_its_subcategories():
    rows = [
        Membership("c1", "D", "", "P", "sub1"),
        Membership("c1", "D", "", "P", "sub2"),
        Membership("c2", "D", "", "P", "sub1"),
        Membership("c3", "D", "", "P", ""),
        Membership("c2", "D", "", "P", "sub2"),
    ]
    result = cross_analysis(rows, {f"c{i}": {} for i in range(1, 15)})
    assert row(result, "P")["count"] == 3  # not 2 + 2 + 1
    assert row(result, "P", "sub1")["count"] == 2
    assert row(result, "P", "sub2")["count"] == 2
    assert [r["level"] for r in result["categories"]] == ["category", "subcategory", "subcategory"]


def test_row_order_label_count_name_then_other_last():
    cases = sample(14)
    ids = list(cases)
    rows = (
        members("Other", ids[:9])
        + members("zeta variant", ids[:3])
        + members("alpha variant", ids[:3])  # ties with zeta: name decides
        + members("beta typical", ids[:8])
        + members("gamma general", ids[:13])
        + members("big variant", ids[:7])
        + members("lonely", ids[:1])
        + members("second domain first", ids[:2], domain="Consequences")
    )
    result = cross_analysis(rows, cases)
    order = [(r["domain"], r["category"]) for r in result["categories"]]
    assert order == [
        (DOMAIN, "gamma general"),
        (DOMAIN, "beta typical"),
        (DOMAIN, "big variant"),
        (DOMAIN, "alpha variant"),
        (DOMAIN, "zeta variant"),
        (DOMAIN, "lonely"),
        (DOMAIN, "Other"),
        ("Consequences", "second domain first"),
    ]
    other = row(result, "Other")
    assert other["other"] and other["label"] == "" and other["count"] == 9
    assert any("single case" in w for w in result["warnings"])


def test_codebook_order_breaks_ties_and_orders_domains():
    cases = sample(10)
    ids = list(cases)
    rows = members("b", ids[:3]) + members("a", ids[:3]) + members("x", ids[:2], domain="Later")
    options = CrossOptions(domain_order=("Later", DOMAIN), category_order=("b", "a"))
    result = cross_analysis(rows, cases, options)
    assert [r["category"] for r in result["categories"]] == ["x", "b", "a"]


def test_subgroups_of_four_and_six_and_direction():
    cases = sample(10, ["high"] * 4 + ["low"] * 6)
    ids = list(cases)
    # 3 of 4 (75%) against 2 of 6 (33%): 42 points, meaningful; 2 of 4 against 3 of 6: equal.
    rows = members("A", ids[:3] + ids[4:6]) + members("B", ids[:2] + ids[4:7])
    result = cross_analysis(rows, cases, CrossOptions(comparisons=(Comparison("anxiety"),)))
    a, b = row(result, "A")["compare"]["anxiety"], row(result, "B")["compare"]["anxiety"]
    assert (a["high"]["label"], a["low"]["label"], a["meaningful"], a["higher"]) == (
        "typical",
        "variant",
        True,
        "high",
    )
    assert a["difference"] == 41.67
    assert (b["high"]["label"], b["low"]["label"], b["meaningful"], b["higher"]) == (
        "variant",
        "variant",
        False,
        None,
    )
    assert result["comparisons"][0]["meaningful_count"] == 1
    assert result["comparisons"][0]["higher_count"] == {"high": 1, "low": 0}


def test_subgroup_of_five_and_single_case_still_takes_part():
    cases = sample(10, ["yes"] * 5 + ["no"] * 5)
    ids = list(cases)
    rows = members("A", ids[:4] + ids[5:6])  # 4/5 vs 1/5: 60 points
    options = CrossOptions(comparisons=(Comparison("anxiety", "yes", "no"),))
    block = row(cross_analysis(rows, cases, options), "A")["compare"]["anxiety"]
    assert block["yes"]["label"] == "typical" and block["no"]["label"] == ""
    assert block["meaningful"] and block["higher"] == "yes"


def test_rows_below_two_cases_and_other_are_not_compared():
    cases = sample(8, ["high"] * 4 + ["low"] * 4)
    ids = list(cases)
    rows = members("Lonely", ids[:1]) + members("Other", ids[:4])
    result = cross_analysis(rows, cases, CrossOptions(comparisons=(Comparison("anxiety"),)))
    for name in ("Lonely", "Other"):
        block = row(result, name)["compare"]["anxiety"]
        assert block["compared"] is False and block["meaningful"] is False
        assert block["high"]["label"] == ""
    assert row(result, "Other")["compare"]["anxiety"]["high"]["count"] == 4


def test_two_categories_rule_and_threshold_option():
    cases = sample(14, ["high"] * 7 + ["low"] * 7)
    ids = list(cases)
    rows = members("A", ids[:5] + ids[7:9])  # 5/7 typical vs 2/7 variant: 42.9 points, one rung
    pct = cross_analysis(rows, cases, CrossOptions(comparisons=(Comparison("anxiety"),)))
    rungs = cross_analysis(
        rows, cases, CrossOptions(comparisons=(Comparison("anxiety"),), difference_rule="two_categories")
    )
    strict = cross_analysis(
        rows, cases, CrossOptions(comparisons=(Comparison("anxiety"),), meaningful=Fraction(1, 2))
    )
    assert row(pct, "A")["compare"]["anxiety"]["meaningful"] is True
    assert row(rungs, "A")["compare"]["anxiety"]["meaningful"] is False
    assert row(strict, "A")["compare"]["anxiety"]["meaningful"] is False


def test_small_samples_warn():
    assert any("far below" in w for w in cross_analysis(members("A", ["c01", "c02"]), sample(3))["warnings"])
    assert any(
        "below the 8-15" in w for w in cross_analysis(members("A", ["c01", "c02"]), sample(6))["warnings"]
    )
    cases = sample(10, ["high"] * 3 + ["low"] * 7)
    result = cross_analysis(
        members("A", ["c01", "c02"]), cases, CrossOptions(comparisons=(Comparison("anxiety"),))
    )
    assert any("anxiety = high has only 3" in w for w in result["warnings"])


def test_bad_inputs_raise_input_errors():
    with pytest.raises(InputError, match="not in the sample"):
        cross_analysis(members("A", ["zz"]), sample(8))
    with pytest.raises(InputError, match="no case attribute 'gender'"):
        cross_analysis(members("A", ["c01"]), sample(8), CrossOptions(comparisons=(Comparison("gender"),)))
    with pytest.raises(InputError, match="no case has anxiety = high"):
        cross_analysis(
            members("A", ["c01"]), sample(8, ["low"] * 8), CrossOptions(comparisons=(Comparison("anxiety"),))
        )
    with pytest.raises(InputError, match="compared twice"):
        cross_analysis(
            members("A", ["c01"]),
            sample(8, ["high", "low"] * 4),
            CrossOptions(comparisons=(Comparison("anxiety"), Comparison("anxiety", "low", "high"))),
        )
    with pytest.raises(InputError, match="no band covers"):
        gappy = custom_profile({"general": ">= N-1", "typical": "> 1/2"})
        cross_analysis(members("A", ["c01"]), sample(8), CrossOptions(profile=gappy))
    with pytest.raises(InputError, match="no cases"):
        cross_analysis([], {})
    with pytest.raises(ValueError, match="two different values"):
        Comparison("anxiety", "high", "HIGH")


def test_stability_check_reports_new_categories_and_label_changes():
    cases = [f"c{i:02d}" for i in range(1, 11)]
    rows = (
        members("Stable", cases[:9])  # 8 of 8 kept -> general; 9 of 10 -> general
        + members("Shifts", cases[:4] + cases[8:10])  # 4 of 8 variant -> 6 of 10 typical
        + members("Only withheld", cases[8:10])
    )
    report = stability_check(rows, cases, withheld=cases[8:])
    assert report["n_kept"] == 8 and report["n_all"] == 10
    assert [c["key"][2] for c in report["new_categories"]] == ["Only withheld"]
    assert [(c["key"][2], c["before"], c["after"]) for c in report["label_changes"]] == [
        ("Shifts", "variant", "typical")
    ]
    assert report["stable"] is False
    calm = stability_check(
        members("Stable", cases[:9]) + members("Shifts", cases[:4] + cases[8:10]),
        cases,
        cases[8:],
        tolerate_one_step=True,
    )
    assert calm["stable"] is True
    with pytest.raises(ValueError):
        stability_check(rows, cases, withheld=cases[:1])
