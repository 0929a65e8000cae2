"""What follows a codebook change besides the codes (issue 18): core ideas and categories follow a
merge (two categories of one name become one), a retired domain leaves the cross-analysis, and
the exports write the current version, with the history in the tables. SQLite and PostgreSQL.

The store (tests.support.stores.build_small_store): four cases in consensus, consensus codes on
rupture_markers (4 units), therapist_reactions (3) and client_context (1).
"""

from __future__ import annotations

import zipfile

import pandas as pd
import pytest

from tests.support.stores import build_small_store
from transcode.analysis import categories as cats
from transcode.analysis import core_ideas as ideas
from transcode.codebook import parse_codebook
from transcode.codebook_changes import parse_operations
from transcode.coding import codebook_ops, people
from transcode.cross import inputs
from transcode.errors import StoreError
from transcode.exchange import refi, tables

LEAD = "L"


@pytest.fixture()
def store(db_url, demo_codebook):
    s = build_small_store(db_url, demo_codebook)
    people.add_person(s, LEAD, "lead")
    for case, unit, domain, category in (
        ("01", "01-0001", "rupture_markers", "Shared"),
        ("01", "01-0002", "therapist_reactions", "Shared"),
        ("02", "02-0002", "therapist_reactions", "Felt defensive"),
        ("04", "04-0002", "client_context", "Clinic"),
    ):
        idea = ideas.add_core_idea(s, case, domain, f"{case} {category}.", [unit], "A", consensus=True)
        known = {c.name for c in cats.categories(s, domain)}
        category_id = category if category in known else cats.add_category(s, domain, category, "A")
        cats.assign_categories(s, idea, [category_id], "A")
    yield s
    s.close()


def new_book(demo_codebook, drop, add=()):
    book = demo_codebook.to_dict()
    book["domains"] = [d for d in book["domains"] if d["id"] not in drop]
    book["domains"] += [{"id": i, "name": n} for i, n in add]
    return parse_codebook(book, "new.yaml")


def test_a_merge_carries_core_ideas_and_joins_categories_of_one_name(store, demo_codebook):
    before = {(m.case, m.domain, m.category) for m in inputs.memberships(store)}
    assert ("01", "The rupture itself", "Shared") in before
    assert len(before) == 4
    book = new_book(demo_codebook, ("rupture_markers", "therapist_reactions"), [("moment", "The moment")])
    applied = codebook_ops.apply(
        store, book, parse_operations(merges=["rupture_markers,therapist_reactions=moment"]), LEAD
    )
    moved = applied.operations[0]["moved"]
    assert moved["consensus_codes"] == 7 and moved["core_ideas"] == 3 and moved["categories"] == 3
    info = {c.name: c for c in cats.categories(store, "moment")}
    assert set(info) == {"Shared", "Felt defensive"}  # the two "Shared" are one now
    assert info["Shared"].cases == ("01",) and len(info["Shared"].core_ideas) == 2
    after = {(m.case, m.domain, m.category) for m in inputs.memberships(store)}
    assert after == {("01", "The moment", "Shared"), ("02", "The moment", "Felt defensive"),
                     ("04", "Client and therapy context", "Clinic")}  # fmt: skip
    with pytest.raises(StoreError, match="unknown domain 'rupture_markers'"):
        cats.categories(store, "rupture_markers")


def test_a_retired_domain_leaves_the_cross_analysis_and_the_exports(store, demo_codebook, tmp_path):
    assert ("04", "Clinic") in {(m.case, m.category) for m in inputs.memberships(store)}
    book = new_book(demo_codebook, ("client_context",))
    codebook_ops.apply(store, book, parse_operations(retires=["client_context"]), LEAD)
    assert ("04", "Clinic") not in {(m.case, m.category) for m in inputs.memberships(store)}
    refi.export_qdpx(store, tmp_path / "study.qdpx")
    with zipfile.ZipFile(tmp_path / "study.qdpx") as archive:
        project = archive.read("project.qde").decode()
    assert 'name="Client and therapy context"' not in project and 'name="The rupture itself"' in project
    tables.write_csv(tables.all_tables(store), tmp_path / "tables")
    history = pd.read_csv(tmp_path / "tables" / "codebook_history.csv")
    assert list(history["version"]) == [1, 2]
    assert history.loc[1, "operation"] == "retire" and history.loc[1, "from"] == "client_context"
    assert history.loc[1, "moved_consensus_codes"] == 1 and history.loc[1, "by"] == LEAD
    assert "client_context" not in history.loc[1, "domains"]
