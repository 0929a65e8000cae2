"""Core ideas, categories and audit comments in a real store (SQLite file; PostgreSQL when configured)."""

from __future__ import annotations

import pytest

from tests.support.stores import build_small_store
from transcode.analysis import categories as cats
from transcode.analysis import core_ideas as ideas
from transcode.coding import audit
from transcode.cross import inputs
from transcode.cross.analysis import Membership
from transcode.errors import InputError


@pytest.fixture
def store(db_url, demo_codebook):
    store = build_small_store(db_url, demo_codebook)
    yield store
    store.close()


def test_confirmed_units_are_gathered_per_case_and_domain(store):
    units = ideas.confirmed_units(store, "01", "rupture_markers")
    assert [u.key for u in units] == ["01-0001"]
    worklist = ideas.units_by_case_and_domain(store)
    assert set(worklist) == {
        ("01", "rupture_markers"),
        ("01", "therapist_reactions"),
        ("02", "rupture_markers"),
        ("02", "therapist_reactions"),
        ("03", "rupture_markers"),
        ("03", "therapist_reactions"),
        ("04", "rupture_markers"),
        ("04", "client_context"),
    }


def test_revisions_form_a_chain_and_only_the_consensus_version_counts(store):
    first = ideas.add_core_idea(store, "01", "rupture_markers", "The client went quiet.", ["01-0001"], "A")
    assert ideas.core_ideas(store, counted_only=True) == []
    second = ideas.revise_core_idea(store, first, "The client withdrew into silence.", "B")
    with pytest.raises(InputError, match="revised by"):
        ideas.revise_core_idea(store, first, "A competing wording.", "B")
    ideas.mark_consensus(store, second)
    third = ideas.revise_core_idea(store, second, "The client withdrew, looking at the floor.", "A")

    chain = ideas.history(store, third)
    assert [v.id for v in chain] == [first, second, third]
    assert [v.supersedes for v in chain] == [None, first, second]
    assert [v.superseded_by for v in chain] == [second, third, None]
    assert [v.author for v in chain] == ["A", "B", "A"]
    assert chain[2].units == ("01-0001",)  # a revision keeps the links unless given new ones
    # The newer draft does not replace the agreed wording until it is marked.
    assert [v.id for v in ideas.core_ideas(store, counted_only=True)] == [second]
    ideas.mark_consensus(store, third)
    assert [v.id for v in ideas.core_ideas(store, counted_only=True)] == [third]
    assert [v.id for v in ideas.core_ideas(store)] == [third]
    assert len(ideas.core_ideas(store, all_versions=True)) == 3


def test_machine_draft_is_never_counted_until_a_person_accepts_it(store):
    category = cats.add_category(store, "rupture_markers", "Client withdrew", "A")
    draft = ideas.save_machine_draft(store, "01", "rupture_markers", "She went quiet.", ["01-0001"])
    for action in (
        lambda: ideas.mark_consensus(store, draft),
        lambda: cats.assign_categories(store, draft, [category], "A"),
        lambda: ideas.revise_core_idea(store, draft, "edited", "A"),
    ):
        with pytest.raises(InputError, match="machine draft"):
            action()
    assert inputs.memberships(store) == []
    (listed,) = ideas.core_ideas(store)
    assert (listed.status, listed.author, listed.counted) == ("machine_draft", None, False)

    accepted = ideas.accept_machine_draft(store, draft, "B", "The client went quiet.")
    cats.assign_categories(store, accepted, [category], "B")
    assert inputs.memberships(store) == []  # accepted but not yet agreed
    ideas.mark_consensus(store, accepted)
    versions = ideas.history(store, accepted)
    assert [(v.status, v.author) for v in versions] == [("machine_draft", None), ("consensus", "B")]
    assert inputs.memberships(store) == [Membership("01", "The rupture itself", "", "Client withdrew", "")]


def test_a_case_counts_once_per_category_however_many_core_ideas_it_has(store):
    withdrew = cats.add_category(store, "rupture_markers", "Client withdrew", "A")
    quiet = cats.add_category(store, "rupture_markers", "Went quiet", "A", parent=withdrew)
    for text in ("She went quiet.", "She looked at the floor."):
        idea = ideas.add_core_idea(store, "01", "rupture_markers", text, ["01-0001"], "A", consensus=True)
        cats.assign_categories(store, idea, [quiet, withdrew], "A")
    other = ideas.add_core_idea(
        store, "03", "rupture_markers", "She turned away.", ["03-0001"], "A", consensus=True
    )
    cats.assign_categories(store, other, ["Went quiet"], "B")
    members = inputs.memberships(store)
    assert sorted(members, key=lambda m: (m.case, m.subcategory)) == [
        Membership("01", "The rupture itself", "", "Client withdrew", ""),
        Membership("01", "The rupture itself", "", "Client withdrew", "Went quiet"),
        Membership("03", "The rupture itself", "", "Client withdrew", "Went quiet"),
    ]
    info = {c.name: c for c in cats.categories(store, "rupture_markers")}
    assert info["Client withdrew"].cases == ("01", "03")
    assert info["Went quiet"].parent == "Client withdrew"
    assert cats.category_decisions(store, other) == {quiet: "B"}


def test_category_rename_merge_and_move_keep_who_decided(store):
    anger = cats.add_category(store, "rupture_markers", "Anger", "A")
    criticism = cats.add_category(store, "rupture_markers", "Criticism", "A")
    idea = ideas.add_core_idea(
        store, "02", "rupture_markers", "He shouted.", ["02-0001"], "A", consensus=True
    )
    cats.assign_categories(store, idea, [criticism], "A")

    cats.rename_category(store, anger, "Confrontation", "B")
    with pytest.raises(InputError, match="already has a category"):
        cats.rename_category(store, criticism, "confrontation", "B")
    assert cats.merge_categories(store, criticism, "Confrontation", "C") == 1
    assert [c.name for c in cats.categories(store, "rupture_markers")] == ["Confrontation"]
    assert cats.category_decisions(store, idea) == {anger: "C"}

    age = cats.add_category(store, "rupture_markers", "Questioned age", "A")
    cats.move_category(store, age, anger, "B")
    (top, sub) = cats.categories(store, "rupture_markers")
    assert (sub.name, sub.parent_id) == ("Questioned age", anger)
    with pytest.raises(InputError, match="cannot hold subcategories"):
        cats.move_category(store, anger, age, "B")
    withdrawal = cats.add_category(store, "rupture_markers", "Withdrawal", "A")
    with pytest.raises(InputError, match="has subcategories"):
        cats.move_category(store, anger, withdrawal, "B")
    thread = [c.as_dict() for c in audit.thread(store, "category", anger)]
    assert [(c["author"], c["text"]) for c in thread] == [
        ("B", "renamed 'Anger' to 'Confrontation'"),
        ("C", f"merged 'Criticism' (id {criticism}) into this category"),
    ]
    assert [c.as_dict() for c in audit.thread(store, "category", age)][0]["author"] == "B"


def test_other_category_is_flagged_and_reaches_the_cross_options(store):
    misc = cats.add_category(store, "therapist_reactions", "Miscellaneous reactions", "A", is_other=True)
    plain_other = cats.add_category(store, "rupture_markers", "Other", "A")
    info = {c.id: c for c in cats.categories(store)}
    assert info[misc].is_other and info[plain_other].is_other
    assert "miscellaneous reactions" in inputs.cross_inputs(store).other_names


def test_audit_comment_and_team_reply_with_resolution(store):
    idea = ideas.add_core_idea(store, "01", "rupture_markers", "She went quiet.", ["01-0001"], "A")
    question = audit.comment(store, "core_idea", idea, "Auditor", "Say what she did with her eyes?")
    audit.comment(
        store, "core_idea", idea, "A", "Added in the revision.", reply_to=question, resolution="accepted"
    )
    thread = [c.as_dict() for c in audit.thread(store, "core_idea", idea)]
    assert [(c["author"], c["role"]) for c in thread] == [("Auditor", "auditor"), ("A", "judge")]
    assert (thread[0]["resolution"], thread[0]["rationale"]) == ("accepted", "Added in the revision.")
    with pytest.raises(InputError, match="no core idea"):
        audit.comment(store, "core_idea", 999, "Auditor", "Where is it?")
    with pytest.raises(InputError, match="give --reply-to"):
        audit.comment(store, "core_idea", idea, "A", "ok", resolution="accepted")


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda s: ideas.add_core_idea(s, "99", "rupture_markers", "x", ["01-0001"], "A"), "unknown case"),
        (lambda s: ideas.add_core_idea(s, "01", "nope", "x", ["01-0001"], "A"), "unknown domain"),
        (
            lambda s: ideas.add_core_idea(s, "01", "rupture_markers", "x", ["02-0001"], "A"),
            "not in this case",
        ),
        (lambda s: ideas.add_core_idea(s, "01", "rupture_markers", "  ", ["01-0001"], "A"), "empty"),
        (lambda s: cats.assign_categories(s, 1, ["No such"], "A"), "no core idea"),
        (lambda s: cats.add_category(s, "rupture_markers", "X", "A", parent="Missing"), "no category"),
    ],
)
def test_bad_input_is_an_input_error_and_saves_nothing(store, call, message):
    with pytest.raises(InputError, match=message):
        call(store)
    assert ideas.core_ideas(store, all_versions=True) == []
    assert cats.categories(store) == []
    assert sorted(store.status().judges) == ["A", "Auditor", "B"]  # nobody new was added by the failed action


def test_import_is_all_or_nothing(store):
    scheme = {"rupture_markers": [{"name": "Client withdrew", "subcategories": [{"name": "Went quiet"}]}]}
    assert cats.import_categories(store, scheme, "A") == 2
    assert cats.import_categories(store, scheme, "A") == 0
    good = {
        "id": "a",
        "case": "01",
        "domain": "rupture_markers",
        "text": "She went quiet.",
        "units": ["01-0001"],
        "categories": ["Went quiet"],
    }
    bad = {**good, "id": "b", "categories": ["Unknown category"]}
    with pytest.raises(InputError, match="no category") as caught:
        ideas.import_core_ideas(store, [good, bad], "A")
    assert caught.value.line == 2
    assert ideas.core_ideas(store, all_versions=True) == []
    ids = ideas.import_core_ideas(store, [good], "A")
    assert inputs.memberships(store) == [
        Membership("01", "The rupture itself", "", "Client withdrew", "Went quiet")
    ]
    assert list(ids) == ["a"]
