"""The store on a real SQLite file: round trips, versioned codebooks, decision log, transactions."""

from __future__ import annotations

import sqlite3

import pytest

from transcode.classify import UnitProposal
from transcode.codebook import parse_codebook
from transcode.coding.codes import Decision, current_codes
from transcode.coding.consensus import all_judge_codes
from transcode.coding.independent import judge_codes, record_decisions
from transcode.errors import InputError, StoreError
from transcode.store import open_store
from transcode.transcript import Transcript, Turn
from transcode.units import ThoughtUnit

BOOK = {"name": "b", "domains": [{"id": "antecedents", "name": "A"}, {"id": "consequences", "name": "C"}]}


def transcript(case="07", answer="She went quiet after I pushed on homework."):
    return Transcript(
        case,
        (Turn("interviewer", "I", "What happened?", 1), Turn("participant", "P", answer, 2)),
        {"interviewer": "R2"},
        f"{case}.txt",
    )


def units_for(t: Transcript) -> list[ThoughtUnit]:
    text = t.turns[1].text
    return [ThoughtUnit(t.case, 1, 2, 0, len(text), text, t.turns[0].text)]


@pytest.fixture()
def store(db_url):
    s = open_store(db_url, create=True, project="demo")
    s.save_codebook(parse_codebook(BOOK))
    t = transcript()
    s.import_transcript(t, units_for(t))
    for name in ("ana", "ben"):
        s.add_judge(name, "judge")
    return s


def test_round_trip_survives_reopening_the_file(store, db_url):
    store.close()
    again = open_store(db_url)
    [unit] = again.units()
    assert (unit.key, unit.turn_number, unit.question) == ("07-0001", 2, "What happened?")
    assert again.codebook().domain_ids == ["antecedents", "consequences"]
    status = again.status()
    assert (status.project, status.cases, status.units, status.coded, status.agreed) == ("demo", 1, 1, 0, 0)


def test_sqlite_runs_with_wal_and_foreign_keys(tmp_path):
    path = tmp_path / "wal.db"
    store = open_store(f"sqlite:///{path}", create=True)
    assert sqlite3.connect(path).execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    with store.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def test_codebook_versions_only_when_content_changes(store):
    assert store.save_codebook(parse_codebook(BOOK)) == 1
    changed = {**BOOK, "domains": [*BOOK["domains"], {"id": "markers", "name": "M"}]}
    assert store.save_codebook(parse_codebook(changed)) == 2
    assert store.codebook().domain_ids[-1] == "markers"


def test_reimport_is_a_no_op_and_a_conflicting_transcript_is_refused_atomically(store):
    t = transcript()
    assert store.import_transcript(t, units_for(t)) == "unchanged"
    other = transcript(answer="Something else entirely happened that day.")
    with pytest.raises(InputError, match="already has a different transcript"):
        store.import_transcript(other, units_for(other))
    assert store.status().units == 1 and store.status().transcripts == 1


def test_failed_import_leaves_nothing_behind(store):
    t = transcript("08")
    bad_units = [*units_for(t), ThoughtUnit("08", 2, 99, 0, 3, "bad", None)]  # turn 99 does not exist
    with pytest.raises(KeyError):
        store.import_transcript(t, bad_units)
    assert store.status().cases == 1 and [u.key for u in store.units()] == ["07-0001"]


def test_proposals_replace_the_previous_set(store):
    first = UnitProposal((("antecedents", 0.8), ("consequences", 0.2)), ("antecedents",), "zs:1")
    store.save_proposals({"07-0001": first})
    second = UnitProposal((("consequences", 0.6), ("antecedents", 0.4)), ("consequences",), "m:2")
    store.save_proposals({"07-0001": second})
    assert store.proposals("07-0001") == [("consequences", 0.6, True), ("antecedents", 0.4, False)]
    with pytest.raises(StoreError):
        store.save_proposals({"99-0001": first})


def test_decision_log_gives_current_codes_and_keeps_judges_blind(store):
    record_decisions(store, "ana", "07-0001", [Decision("antecedents", "accepted")])
    record_decisions(store, "ana", "07-0001", [Decision("consequences", "added")])
    record_decisions(store, "ana", "07-0001", [Decision("consequences", "removed")])
    record_decisions(store, "ben", "07-0001", [Decision(None, "other")])
    assert judge_codes(store, "ana") == {"07-0001": frozenset({"antecedents"})}
    assert judge_codes(store, "ben") == {"07-0001": frozenset({"other"})}
    assert all_judge_codes(store, cases=["07"]) == {
        "ana": {"07-0001": frozenset({"antecedents"})},
        "ben": {"07-0001": frozenset({"other"})},
    }
    assert store.status().coded == 0  # counted only once the case is past independent coding
    store.set_phases({"07": ("consensus", {})}, None)
    assert store.status().coded == 1
    with pytest.raises(InputError, match="'other' takes no domain"):  # asked wrong, whatever the store
        record_decisions(store, "ana", "07-0001", [Decision(None, "accepted")])


def test_consensus_is_recorded_per_unit(store):
    store.set_consensus("07-0001", ["antecedents", "consequences"], recorded_by="ana")
    store.set_consensus("07-0001", ["antecedents"], recorded_by="ana")
    assert store.consensus() == {"07-0001": frozenset({"antecedents"})}
    assert store.status().agreed == 1


def test_current_codes_other_clears_and_is_cleared():
    log = [("u", "a", "accepted"), ("u", None, "other"), ("v", None, "other"), ("v", "b", "added")]
    assert current_codes(log) == {"u": frozenset({"other"}), "v": frozenset({"b"})}


def test_opening_a_missing_store_is_a_clear_error(tmp_path):
    with pytest.raises(InputError, match="transcode init"):
        open_store(f"sqlite:///{tmp_path / 'none.db'}")
    with pytest.raises(InputError, match="does not exist"):
        open_store(f"sqlite:///{tmp_path / 'no' / 'dir.db'}", create=True)
