"""`transcode coreideas / categories / comment` and the store-driven `transcode cross --db`."""

from __future__ import annotations

import csv
import json

import pytest
from typer.testing import CliRunner

from tests.support.cli import run_transcode
from tests.support.stores import build_small_store
from transcode.analysis import categories as cats
from transcode.analysis import core_ideas as ideas
from transcode.cross import inputs
from transcode.store import open_store
from transcode.store.db import public_url


@pytest.fixture(scope="module")
def cli():
    import transcode.cli as cli_module

    cli_module._register()
    runner = CliRunner()

    def invoke(*args: str) -> dict:
        result = runner.invoke(cli_module.app, list(args))
        assert result.exit_code == 0, (result.output, result.exception)
        return json.loads(result.stdout)

    return invoke


@pytest.fixture
def small(db_url, demo_codebook):
    store = build_small_store(db_url, demo_codebook)
    store.close()
    return db_url


def test_build_label_and_export_through_the_cli(small, cli, tmp_path):
    db = ("--db", small)
    withdrew = cli(
        "categories",
        "add",
        "--domain",
        "rupture_markers",
        "--name",
        "Client withdrew",
        "--judge",
        "A",
        *db,
        "--json",
    )["id"]
    cli(
        "categories",
        "add",
        "--domain",
        "rupture_markers",
        "--name",
        "Client cancelled",
        "--judge",
        "A",
        *db,
        "--json",
    )
    for case, unit, text, category in [
        ("01", "01-0001", "The client went quiet and looked down.", "Client withdrew"),
        ("03", "03-0001", "The client stopped talking and turned away.", "Client withdrew"),
        ("04", "04-0001", "The client cancelled two sessions.", "Client cancelled"),
        ("02", "02-0001", "The client shouted that the therapist was too young.", None),
    ]:
        idea = cli(
            "coreideas",
            "add",
            "--case",
            case,
            "--domain",
            "rupture_markers",
            "--text",
            text,
            "--unit",
            unit,
            "--judge",
            "B",
            *db,
            "--json",
        )["id"]
        cli("coreideas", "consensus", str(idea), *db, "--json")
        if category:
            cli("categories", "assign", str(idea), category, "--judge", "B", *db, "--json")
    listed = cli("categories", "list", "--domain", "rupture_markers", *db, "--json")["categories"]
    assert {c["name"]: c["cases"] for c in listed} == {
        "Client withdrew": ["01", "03"],
        "Client cancelled": ["04"],
    }
    assert listed[0]["id"] == withdrew and listed[0]["created_by"] == "A"

    store_result = cli("cross", *db, "--compare", "anxiety", "--json")
    rows = {r["category"]: r for r in store_result["categories"]}
    assert store_result["n_cases"] == 4
    assert (rows["Client withdrew"]["count"], rows["Client withdrew"]["label"]) == (2, "variant")
    assert rows["Client withdrew"]["domain"] == "The rupture itself"

    table = tmp_path / "table.md"
    done = run_transcode("cross", *db, "--compare", "anxiety", "--out", str(table))
    assert done.returncode == 0, done.stderr
    assert "Client withdrew" in table.read_text() and "V (2)" in table.read_text()


def test_store_driven_cross_equals_the_csv_driven_result(small, cli, tmp_path):
    store = open_store(small)
    withdrew = cats.add_category(store, "rupture_markers", "Client withdrew", "A")
    quiet = cats.add_category(store, "rupture_markers", "Went quiet", "A", parent=withdrew)
    guilt = cats.add_category(store, "therapist_reactions", "Guilt", "A")
    other = cats.add_category(store, "therapist_reactions", "Other", "A")
    for case, domain, unit, categories in [
        ("01", "rupture_markers", "01-0001", [quiet]),
        ("03", "rupture_markers", "03-0001", [withdrew, quiet]),
        ("04", "rupture_markers", "04-0001", [withdrew]),
        ("01", "therapist_reactions", "01-0002", [guilt]),
        ("02", "therapist_reactions", "02-0002", [guilt]),
        ("03", "therapist_reactions", "03-0002", [other]),
    ]:
        idea = ideas.add_core_idea(store, case, domain, f"core idea of {unit}", [unit], "A", consensus=True)
        cats.assign_categories(store, idea, categories, "A")
    memberships, cases = inputs.memberships(store), store.case_attributes()
    store.close()

    memberships_csv, cases_csv = tmp_path / "memberships.csv", tmp_path / "cases.csv"
    with open(memberships_csv, "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["case", "domain", "subdomain", "category", "subcategory"])
        writer.writerows([m.case, m.domain, m.subdomain, m.category, m.subcategory] for m in memberships)
    with open(cases_csv, "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["case", "anxiety"])
        writer.writerows([case, attrs["anxiety"]] for case, attrs in cases.items())

    from_store = cli("cross", "--db", small, "--compare", "anxiety", "--json")
    from_csv = cli("cross", str(memberships_csv), "--cases", str(cases_csv), "--compare", "anxiety", "--json")
    assert from_store == from_csv
    assert [r["domain"] for r in from_store["categories"]][0] == "The rupture itself"
    assert any(r["other"] for r in from_store["categories"])


def test_machine_draft_through_the_cli_is_marked_and_not_counted(small, cli):
    db = ("--db", small)
    draft = cli("coreideas", "draft", "--case", "02", "--domain", "therapist_reactions", *db, "--json")
    assert draft["status"] == "machine_draft" and "draft" in draft["label"]
    assert draft["units"] == ["02-0002"]
    assert cli("cross", *db, "--json")["categories"] == []
    accepted = cli("coreideas", "accept", str(draft["id"]), "--judge", "A", "--consensus", *db, "--json")
    listed = cli("coreideas", "list", "--case", "02", "--all-versions", *db, "--json")["core_ideas"]
    assert [(v["id"], v["status"], v["counted"]) for v in listed] == [
        (draft["id"], "machine_draft", False),
        (accepted["id"], "consensus", True),
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            [
                "coreideas",
                "add",
                "--case",
                "99",
                "--domain",
                "rupture_markers",
                "--text",
                "x",
                "--unit",
                "99-0001",
                "--judge",
                "A",
            ],
            "unknown case '99'",
        ),
        (["coreideas", "units", "--case", "01", "--domain", "nonsense"], "unknown domain 'nonsense'"),
        (["categories", "assign", "1", "No such category", "--judge", "A"], "no core idea 1"),
        (["comment", "category", "7", "--text", "Why?", "--judge", "Auditor"], "no category 7"),
    ],
)
def test_bad_input_exits_2_with_one_line(small, args, message):
    done = run_transcode(*args, "--db", small, "--json")
    assert done.returncode == 2
    assert done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0] and public_url(small) in lines[0]  # no password


def test_unknown_category_of_an_existing_core_idea_exits_2(small):
    done = run_transcode(
        "coreideas",
        "add",
        "--case",
        "01",
        "--domain",
        "rupture_markers",
        "--text",
        "Quiet.",
        "--unit",
        "01-0001",
        "--judge",
        "A",
        "--db",
        small,
        "--json",
    )
    idea = json.loads(done.stdout)["id"]
    done = run_transcode("categories", "assign", str(idea), "Nowhere", "--judge", "A", "--db", small)
    assert done.returncode == 2 and "no category named 'Nowhere'" in done.stderr


def test_comment_thread_through_the_cli(small, cli):
    db = ("--db", small)
    idea = cli(
        "coreideas",
        "add",
        "--case",
        "01",
        "--domain",
        "rupture_markers",
        "--text",
        "She went quiet.",
        "--unit",
        "01-0001",
        "--judge",
        "A",
        *db,
        "--json",
    )["id"]
    asked = cli(
        "comment", "core_idea", str(idea), "--text", "Too vague?", "--judge", "Auditor", *db, "--json"
    )
    cli(
        "comment",
        "core_idea",
        str(idea),
        "--text",
        "Kept: it is what she said.",
        "--judge",
        "A",
        "--reply-to",
        str(asked["id"]),
        "--resolution",
        "rejected",
        *db,
        "--json",
    )
    thread = cli("comment", "core_idea", str(idea), *db, "--json")["comments"]
    assert [(c["role"], c["resolution"]) for c in thread] == [("auditor", "rejected"), ("judge", None)]
