"""The demo corpus's gold core ideas and categories build a real CQR table from the store."""

from __future__ import annotations

import importlib.util
import json
import re
import sys

import pytest
import yaml

from tests.support import DEMO
from transcode.cross import Comparison, CrossOptions, cross_analysis
from transcode.cross.inputs import cross_inputs
from transcode.store import open_store

GOLD = DEMO / "gold"


def _gold_lines(name: str) -> list[dict]:
    path = GOLD / name
    if not path.exists():
        pytest.skip(f"{path} not built")
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


@pytest.fixture(scope="module")
def demo_store(tmp_path_factory):
    if not (DEMO / "case_12.txt").exists():
        pytest.skip("demo corpus not built (run corpora/demo/build_demo.py)")
    spec = importlib.util.spec_from_file_location("load_gold", DEMO / "load_gold.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    url = f"sqlite:///{tmp_path_factory.mktemp('demo') / 'demo.db'}"
    summary = module.load_demo(url, quiet=True)
    return url, summary


def test_gold_core_ideas_cite_confirmed_units_of_their_domain():
    units = {u["unit"]: u for u in _gold_lines("units.jsonl")}
    ideas = _gold_lines("core_ideas.jsonl")
    scheme = yaml.safe_load((GOLD / "categories.yaml").read_text(encoding="utf-8"))["domains"]
    names = {
        d: {c["name"] for item in items for c in [item, *item.get("subcategories", [])]}
        for d, items in scheme.items()
    }
    per_cell: dict[tuple[str, str], int] = {}
    for idea in ideas:
        per_cell[(idea["case"], idea["domain"])] = per_cell.get((idea["case"], idea["domain"]), 0) + 1
        for key in idea["units"]:
            assert units[key]["case"] == idea["case"] and idea["domain"] in units[key]["domains"], (
                idea["id"],
                key,
            )
        assert idea["categories"] and set(idea["categories"]) <= names[idea["domain"]], idea["id"]
    assert {d for _, d in per_cell} == set(scheme)
    assert len({c for c, _ in per_cell}) == 12
    assert set(per_cell.values()) <= {1, 2, 3} and len(per_cell) == 12 * len(scheme)


def test_gold_core_ideas_carry_no_identifiers():
    """No identifier planted in the case, and no name planted in any case, appears in a core idea."""
    planted = _gold_lines("identifiers.jsonl")
    names = {i["text"] for i in planted if i["type"] in ("PERSON", "PLACE", "ORG")}
    for idea in _gold_lines("core_ideas.jsonl"):
        own = {i["text"] for i in planted if i["case"] == idea["case"]}
        for value in own | names:
            assert not re.search(r"(?<!\w)" + re.escape(value) + r"(?!\w)", idea["text"]), (idea["id"], value)


def test_demo_store_is_de_identified_and_keeps_gold_unit_keys(demo_store):
    url, summary = demo_store
    assert (summary["cases"], summary["core_ideas"]) == (12, len(_gold_lines("core_ideas.jsonl")))
    store = open_store(url)
    try:
        units = {u.key: u.text for u in store.units("01")}
    finally:
        store.close()
    assert units["01-t04u2"].startswith("So it's her and her mom, [PERSON_")
    assert "Nomvula" not in " ".join(units.values())


def test_demo_gold_builds_a_cqr_table_with_every_label(demo_store):
    url, _ = demo_store
    store = open_store(url)
    try:
        inputs = cross_inputs(store)
    finally:
        store.close()
    options = CrossOptions(
        comparisons=(Comparison("anxiety"),), domain_order=inputs.domain_order, other_names=inputs.other_names
    )
    result = cross_analysis(inputs.memberships, inputs.cases, options)
    assert result["n_cases"] == 12
    labels = {r["label"] for r in result["categories"]}
    assert {"general", "typical", "variant"} <= labels
    rows = {(r["domain"], r["category"], r["subcategory"]): r for r in result["categories"]}
    apologised = rows[("Therapist's repair actions", "Acknowledged own part and apologised", "")]
    assert (apologised["count"], apologised["label"]) == (12, "general")
    assert [r["domain"] for r in result["categories"]][0] == "The rupture itself"
    assert any(r["compare"]["anxiety"]["meaningful"] for r in result["categories"])
    assert any(r["other"] for r in result["categories"])
