"""The coding room's functions (transcode.coding) on a real store, SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from tests.support.stores import MODEL, build_store, open_phase
from transcode.agreement import agreement_report
from transcode.coding import audit, codes, consensus, independent
from transcode.coding.codes import Decision
from transcode.coding.independent import judge_codes
from transcode.coding.queue import UnitProposals, coding_queue, load_proposals
from transcode.errors import InputError, StoreError


@pytest.fixture()
def store(db_url):
    s = build_store(db_url)
    yield s
    s.close()


# -- tests ---------------------------------------------------------------------------------------
def test_queue_has_question_turn_text_and_offsets(store):
    queue = coding_queue(store)
    assert [q.key for q in queue][:3] == ["01-0001", "01-0002", "01-0003"] and len(queue) == 12
    third = queue[2]
    assert third.turn_text[third.start : third.end] == third.text
    assert third.question == "Tell me a little about the client you have in mind."
    assert [q.key for q in coding_queue(store, case="02")][0] == "02-0001"
    with pytest.raises(StoreError, match="no thought units"):
        coding_queue(store, case="99")


def test_uncertainty_order_puts_close_races_first(store):
    proposals = load_proposals(store)
    queue = coding_queue(store, order="uncertainty", proposals=proposals)
    margins = [1 - (proposals[q.key].scores[0][1] - proposals[q.key].scores[1][1]) for q in queue]
    assert margins == sorted(margins, reverse=True)
    # flat scores (nothing suggested) first, then the two-domain units, tied, in transcript order
    assert [q.key for q in queue[:3]] == ["02-0005", "01-0003", "02-0004"]


def test_a_keypress_writes_its_decisions_in_one_transaction(store):
    ids = independent.record_decisions(
        store,
        "A",
        "01-0001",
        [Decision("client_context", "accepted", None, MODEL), Decision("antecedents", "added")],
    )
    assert len(ids) == 2
    assert judge_codes(store, "A")["01-0001"] == {"client_context", "antecedents"}
    with pytest.raises(InputError, match="unknown action 'bogus'"):  # asked wrong, whatever the store
        independent.record_decisions(
            store, "A", "01-0001", [Decision("supervision", "added"), Decision("x", "bogus")]
        )
    with pytest.raises(StoreError, match="no thought unit"):
        independent.record_decisions(store, "A", "nope", [Decision("supervision", "added")])
    assert judge_codes(store, "A")["01-0001"] == {"client_context", "antecedents"}


@pytest.mark.parametrize(
    ("current", "target"),
    [
        (frozenset({"a"}), frozenset()),
        (frozenset({"a"}), frozenset({"b", "c"})),
        (frozenset({"other"}), frozenset()),
        (frozenset({"other"}), frozenset({"a"})),
        (frozenset({"a", "b"}), frozenset({"other"})),
        (frozenset(), frozenset({"a"})),
    ],
)
def test_changes_to_reaches_the_target_through_the_log_fold(current, target):
    from transcode.coding.codes import current_codes

    start = [("u", None, "other")] if "other" in current else [("u", d, "added") for d in sorted(current)]
    steps = codes.changes_to(current, target, ["a", "b", "c"])
    folded = current_codes([*start, *(("u", d.domain, d.action) for d in steps)]).get("u", frozenset())
    assert folded == target


def test_acceptance_counts_units_kept_as_the_model_suggested():
    rows = [
        ("u1", "a", "accepted", MODEL),  # accepted as is
        ("u2", "a", "accepted", MODEL),
        ("u2", "b", "added", None),  # changed
        ("u3", None, "other", MODEL),  # the model suggested nothing; judge agreed
        ("u4", None, "other", None),  # judge chose other
        ("u5", "a", "accepted", MODEL),
        ("u5", "a", "removed", None),  # undone: not coded
    ]
    result = codes.acceptance(rows)
    assert (result.accepted, result.coded) == (2, 4) and result.rate == 0.5


def test_note_repeats_the_latest_decision_and_needs_codes(store):
    with pytest.raises(StoreError, match="code the unit first"):
        independent.add_note(store, "A", "01-0001", "why")
    independent.record_decisions(store, "A", "01-0001", [Decision("client_context", "accepted", None, MODEL)])
    independent.add_note(store, "A", "01-0001", "  mentions the setting too ")
    assert judge_codes(store, "A")["01-0001"] == {"client_context"}
    assert independent.judge_notes(store, "A") == {"01-0001": ["mentions the setting too"]}
    assert independent.judge_acceptance(store, "A").rate == 1.0


def test_disagreements_unanimous_and_ratings_for_the_agreement_report(store):
    for key in ("01-0001", "01-0002"):
        independent.record_decisions(store, "A", key, [Decision("client_context", "added")])
        independent.record_decisions(store, "B", key, [Decision("client_context", "added")])
    independent.record_decisions(store, "A", "01-0003", [Decision("antecedents", "added")])
    independent.record_decisions(store, "B", "01-0003", [Decision(None, "other")])
    independent.record_decisions(
        store, "A", "01-0004", [Decision("antecedents", "added")]
    )  # B has not coded it
    open_phase(store, "consensus", ["01"])
    cases = ["01"]
    [split] = consensus.disagreements(store, cases=cases)
    assert split.item.key == "01-0003" and split.by_judge == {"A": {"antecedents"}, "B": {"other"}}
    assert split.consensus is None
    assert consensus.unanimous_without_consensus(store, cases=cases) == {
        "01-0001": {"client_context"},
        "01-0002": {"client_context"},
    }
    assert consensus.adopt_unanimous(store, "A", cases=cases) == 2
    assert store.consensus() == {"01-0001": {"client_context"}, "01-0002": {"client_context"}}
    records = consensus.ratings_records(store, cases=cases)
    assert ("01-0003", "B", None) in records and ("01-0004", "A", "antecedents") in records
    report = agreement_report(records)
    assert report["n_judges"] == 2 and report["pairs"][0]["n_units"] == 3
    assert report["pairs"][0]["percent_agreement"] == pytest.approx(2 / 3)


def test_audit_comments_replies_and_verdicts(store):
    store.set_consensus("01-0001", ["client_context"], "A")
    assert audit.audit_targets(store) == []  # auditors review cases in audit only
    open_phase(store, "audit", ["01"])
    [target] = audit.audit_targets(store)
    assert (target.target_type, target.title, target.codes) == ("unit", "unit 01-0001", {"client_context"})
    first = audit.comment(store, "unit", target.target_id, "Aud", "Is this not antecedents?")
    reply = audit.comment(store, "unit", target.target_id, "A", "No: it is background.", reply_to=first)
    audit.resolve_comment(store, first, "rejected", "background only")
    thread = audit.thread(store, "unit", target.target_id)
    assert [(c.id, c.author, c.role, c.reply_to) for c in thread] == [
        (first, "Aud", "auditor", None),
        (reply, "A", "judge", first),
    ]
    assert (thread[0].resolution, thread[0].rationale) == ("rejected", "background only")
    with pytest.raises(StoreError):
        audit.comment(store, "unit", target.target_id + 1, "A", "elsewhere", reply_to=first)
    with pytest.raises(InputError, match="resolution must be accepted or rejected"):
        audit.resolve_comment(store, first, "maybe")


def test_stored_proposals_round_trip(store):
    proposals = load_proposals(store)
    first = proposals["01-0001"]
    assert isinstance(first, UnitProposals) and first.suggested == {"client_context"}
    assert first.scores[0][0] == "client_context" and first.model_version == MODEL
    assert proposals["02-0005"].suggested == frozenset()


@pytest.mark.parametrize("order", ["transcript", "uncertainty"])
def test_the_session_reads_its_queue_a_case_at_a_time_in_the_queue_s_order(store, order):
    session = independent.CodingSession(store, "A", store.codebook(), order=order)
    whole = coding_queue(store, cases=["01", "02"], order=order)
    assert len(session.queue) == len(whole)
    assert list(session.queue) == whole  # same units, texts, questions and order
    assert session.queue[-2:] == whole[-2:]
    everything = load_proposals(store)
    assert {key: session.proposals.get(key) for key in everything} == everything
    assert session.proposals.get("no-such-unit") is None


def test_the_session_s_running_feedback_is_what_the_store_s_log_gives(store):
    session = independent.CodingSession(store, "A", store.codebook())
    for step in range(9):
        if step % 3 == 2:
            session.mark_other()
        elif step % 3 == 1:
            session.toggle(2)
            session.toggle(2)
            session.toggle(4)
            session.advance()
        else:
            session.accept()
    session.undo()
    assert session.feedback() == independent.judge_feedback(store, "A")
    assert session.feedback().overall.coded > 0


def test_search_finds_text_in_units_of_cases_not_read_yet(store):
    session = independent.CodingSession(store, "A", store.codebook())
    assert session.search("GREY") and session.current.key == "02-0005"
    assert session.search("01-0002") and session.current.key == "01-0002"
    assert not session.search("no such words")
