"""``--compare`` means one thing in ``cross`` (from files or the store) and ``export``.

The bug this guards: a CASES.csv column ``Anxiety`` was stored as ``Anxiety``, but
``cross --db --compare Anxiety`` lowercased the name and found no such attribute, while
``export --compare anxiety=high`` quietly compared high with low.
"""

from __future__ import annotations

import csv
import json

import pytest

from tests.support.stores import build_small_store
from transcode.analysis import categories as cats
from transcode.analysis import core_ideas as ideas
from transcode.cli import run
from transcode.cross.inputs import memberships
from transcode.cross.io import read_cases


@pytest.fixture
def study(db_url, demo_codebook, tmp_path):
    """A store whose case attribute came from a CASES.csv column spelled ``Anxiety``, and its CSVs."""
    cases_csv = tmp_path / "cases.csv"
    cases_csv.write_text("case,Anxiety\n01,high\n02,high\n03,low\n04,low\n", encoding="utf-8")
    store = build_small_store(db_url, demo_codebook, attributes=read_cases(cases_csv))
    assert store.case_attributes()["01"] == {"Anxiety": "high"}  # stored as the header spells it
    withdrew = cats.add_category(store, "rupture_markers", "Client withdrew", "A")
    guilt = cats.add_category(store, "therapist_reactions", "Guilt", "A")
    for case, domain, unit, category in [
        ("01", "rupture_markers", "01-0001", withdrew),
        ("02", "rupture_markers", "02-0001", withdrew),
        ("03", "rupture_markers", "03-0001", withdrew),
        ("01", "therapist_reactions", "01-0002", guilt),
        ("02", "therapist_reactions", "02-0002", guilt),
    ]:
        idea = ideas.add_core_idea(store, case, domain, f"core idea of {unit}", [unit], "A", consensus=True)
        cats.assign_categories(store, idea, [category], "A")
    memberships_csv = tmp_path / "memberships.csv"
    with open(memberships_csv, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["case", "domain", "subdomain", "category", "subcategory"])
        writer.writerows(
            [m.case, m.domain, m.subdomain, m.category, m.subcategory] for m in memberships(store)
        )
    store.close()
    return db_url, memberships_csv, cases_csv


def cross_json(capsys, *args: str) -> dict:
    code = run(["cross", *args, "--json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    return json.loads(out)


@pytest.mark.parametrize("spelling", ["Anxiety", "anxiety", "ANXIETY"])
def test_a_capitalised_column_compares_alike_from_the_files_and_from_the_store(study, capsys, spelling):
    db, memberships_csv, cases_csv = study
    from_store = cross_json(capsys, "--db", db, "--compare", spelling)
    from_files = cross_json(capsys, str(memberships_csv), "--cases", str(cases_csv), "--compare", spelling)
    assert from_store == from_files
    withdrew = next(r for r in from_store["categories"] if r["category"] == "Client withdrew")
    block = withdrew["compare"]["anxiety"]
    assert (block["high"]["count"], block["low"]["count"]) == (2, 1)


def test_export_compares_the_same_way(study, capsys, tmp_path):
    db, _, _ = study
    out = tmp_path / "tables"
    assert run(["export", "--db", db, "--format", "csv", "--out", str(out), "--compare", "Anxiety"]) == 0
    capsys.readouterr()
    with open(out / "cross_analysis.csv", newline="", encoding="utf-8") as fh:
        rows = {r["category"]: r for r in csv.DictReader(fh)}
    assert (rows["Client withdrew"]["anxiety_high_count"], rows["Client withdrew"]["anxiety_low_count"]) == (
        "2",
        "1",
    )


@pytest.mark.parametrize("command", [["cross"], ["export", "--format", "csv", "--out", "tables"]])
def test_a_malformed_compare_is_the_same_error_in_cross_and_export(study, capsys, tmp_path, command):
    db, _, _ = study
    args = [a if a != "tables" else str(tmp_path / "tables") for a in command]
    assert run([*args, "--db", db, "--compare", "anxiety=high"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--compare 'anxiety=high': write ATTR or ATTR=A:B" in err
    assert not (tmp_path / "tables").exists()
