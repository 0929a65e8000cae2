"""Study phases, people and the event trail: who may move a case, when, and what the trail keeps."""

from __future__ import annotations

import json

import pytest

from tests.support.stores import LEAD, build_store
from transcode.cli import run
from transcode.coding import people, phases, suggestions
from transcode.coding.codes import Decision
from transcode.coding.independent import CodingSession, record_decisions
from transcode.coding.queue import coding_queue
from transcode.errors import InputError, PhaseError


@pytest.fixture()
def store(db_url):
    s = build_store(db_url)
    yield s
    s.close()


def code_case(store, judge: str, case: str) -> None:
    for item in coding_queue(store, case=case):
        record_decisions(store, judge, item.key, [Decision("client_context", "added")])


def test_opening_consensus_waits_for_every_assigned_judge(store):
    session = CodingSession(store, "A", store.codebook(), case="01")
    for _ in session.queue:
        session.toggle(1)
        session.next()
    assert session.finished("01") and not session.finished("02")
    assert {(a.judge, a.case): a.finished for a in store.assignments()}[("A", "01")]
    with pytest.raises(PhaseError, match="case 01: not finished by B .*--override"):
        phases.switch(store, ["01"], "consensus", LEAD)
    assert store.case_phases() == {"01": "independent", "02": "independent"}  # nothing half-done

    session_b = CodingSession(store, "B", store.codebook(), case="01")
    for _ in session_b.queue:
        session_b.mark_other()
    session_b.undo()  # the last unit is uncoded again: B has not finished after all
    assert not session_b.finished("01")
    with pytest.raises(PhaseError, match="not finished by B"):
        phases.switch(store, ["01"], "consensus", LEAD)
    session_b.mark_other()
    [change] = phases.switch(store, ["01"], "consensus", LEAD)
    assert (change.case, change.before, change.after, change.overridden) == (
        "01",
        "independent",
        "consensus",
        (),
    )
    [event] = store.events(case="01", kind="phase")
    assert event.actor == LEAD and event.details == {
        "from": "independent",
        "to": "consensus",
        "override": False,
        "overridden": [],
        "reason": None,
    }


def test_only_a_lead_moves_a_case_one_step_at_a_time_unless_overriding(store):
    for name, match in [("A", "A is a judge; switching phases needs a lead"), ("Zed", "not a registered")]:
        with pytest.raises(InputError, match=match):
            phases.switch(store, ["01"], "consensus", name, override=True)
    with pytest.raises(InputError, match="phase must be one of"):
        phases.switch(store, ["01"], "finished", LEAD)
    with pytest.raises(PhaseError, match="independent -> audit is not the next phase"):
        phases.switch(store, ["01"], "audit", LEAD)
    changes = phases.switch(store, None, "consensus", LEAD, override=True, reason="pilot study")
    assert [c.overridden for c in changes] == [("not finished by A, B",)] * 2
    assert phases.switch(store, None, "consensus", LEAD) == []  # every case is there already
    with pytest.raises(PhaseError, match="case 01 is already in consensus"):
        phases.switch(store, ["01"], "consensus", LEAD)
    with pytest.raises(PhaseError, match="consensus -> independent is not the next phase"):
        phases.switch(store, ["01"], "independent", LEAD)
    phases.switch(store, ["01"], "audit", LEAD)
    phases.switch(store, ["01"], "closed", LEAD)
    assert store.case_phases() == {"01": "closed", "02": "consensus"}
    trail = [
        (e.case, e.details["from"], e.details["to"], e.details["override"])
        for e in store.events(kind="phase")
    ]
    assert trail == [
        ("01", "independent", "consensus", True),
        ("02", "independent", "consensus", True),
        ("01", "consensus", "audit", False),
        ("01", "audit", "closed", False),
    ]
    assert store.events(kind="phase")[0].details["reason"] == "pilot study"


def test_people_are_registered_once_with_a_role(store):
    with pytest.raises(InputError, match="already registered"):
        people.add_person(store, "A", "lead")
    with pytest.raises(InputError, match="role must be judge, auditor or lead"):
        people.add_person(store, "C", "boss")
    with pytest.raises(InputError, match="one word"):
        people.add_person(store, "Ana Lee", "judge")
    with pytest.raises(PhaseError, match="Aud is an auditor; only judges and leads code"):
        people.assign(store, ["Aud"], None, LEAD)
    with pytest.raises(PhaseError, match="assigning judges needs a lead"):
        people.assign(store, ["A"], None, "B")
    with pytest.raises(InputError, match="no case '99'"):
        people.assign(store, ["A"], ["99"], LEAD)
    with pytest.raises(InputError, match="not a registered"):
        record_decisions(store, "Zed", "01-0001", [Decision("client_context", "added")])
    with pytest.raises(PhaseError, match="only judges and leads code"):
        record_decisions(store, "Aud", "01-0001", [Decision("client_context", "added")])
    people.add_person(store, "C", "judge")
    with pytest.raises(PhaseError, match="C has no case to code"):
        CodingSession(store, "C", store.codebook())
    assert people.assign(store, ["C"], ["02"], LEAD) == 1
    assert people.assign(store, ["C"], ["02"], LEAD) == 0  # already assigned
    assert {item.case for item in CodingSession(store, "C", store.codebook()).queue} == {"02"}
    with pytest.raises(PhaseError, match="C is not assigned to case 01"):
        CodingSession(store, "C", store.codebook(), case="01")
    assert [e.details for e in store.events(kind="assigned")][-1] == {"judges": ["C"]}
    assert [e.details["name"] for e in store.events(kind="judge_added")] == ["A", "B", "L", "Aud", "C"]


def test_the_suggestions_setting_is_a_lead_s_and_logged(store):
    assert suggestions.mode(store) == "visible"  # the coding room's store sets it
    with pytest.raises(PhaseError, match="needs a lead"):
        suggestions.set_mode(store, "hidden", "A")
    with pytest.raises(InputError, match="suggestions must be visible, after-first-choice, hidden"):
        suggestions.set_mode(store, "sometimes", LEAD)
    assert suggestions.set_mode(store, "hidden", LEAD) == "visible"
    assert suggestions.mode(store) == "hidden"
    assert store.events(kind="setting")[-1].details == {
        "key": "suggestions",
        "from": "visible",
        "to": "hidden",
    }


def test_a_new_study_defaults_to_after_first_choice(tmp_path):
    from transcode.store import open_store

    with open_store(f"sqlite:///{tmp_path / 'new.db'}", create=True) as fresh:
        assert suggestions.mode(fresh) == "after-first-choice"


def test_the_commands_of_a_study(store, db_url, capsys):
    def cli(*args: str):
        code = run([*args, "--db", db_url])
        out, err = capsys.readouterr()
        return code, out, err

    assert cli("judges", "add", "C", "--role", "judge", "--json")[0] == 0
    assert cli("judges", "assign", "C", "--case", "02", "--by", LEAD, "--json")[0] == 0
    code, out, _ = cli("judges", "list", "--json")
    listed = {j["name"]: j for j in json.loads(out)["judges"]}
    assert listed["C"] == {"name": "C", "role": "judge", "db_role": None, "cases": {"02": False}}
    code, _, err = cli("phase", "01", "consensus", "--by", LEAD)
    assert code == 2 and "not finished by A, B" in err and err.count("\n") == 1
    code_case(store, "A", "01")
    code_case(store, "B", "01")
    CodingSession(store, "A", store.codebook(), case="01")  # opening the room marks what is finished
    CodingSession(store, "B", store.codebook(), case="01")
    code, out, err = cli("phase", "01", "consensus", "--by", LEAD)
    assert code == 0 and "case 01: independent -> consensus" in err
    assert "Calibration of case 01" in out and "A, B · 6 units" in out  # the team sees it together
    code, out, _ = cli("phase", "--json")
    assert json.loads(out)["cases"]["01"] == {"phase": "consensus", "judges": {"A": True, "B": True}}
    code, out, err = cli("phase", "--all", "audit", "--by", LEAD, "--override", "--reason", "pilot")
    assert code == 0 and "case 02: independent -> audit (override:" in err
    code, out, _ = cli("suggestions", "hidden", "--by", LEAD, "--json")
    assert json.loads(out) == {"suggestions": "hidden", "before": "visible"}
    code, out, _ = cli("events", "--kind", "phase", "--json")
    kinds = [(e["case"], e["details"]["to"], e["actor"]) for e in json.loads(out)["events"]]
    assert kinds == [("01", "consensus", LEAD), ("01", "audit", LEAD), ("02", "audit", LEAD)]
    for args, message in [
        (("phase", "01"), "give a case and a phase"),
        (("phase", "--all", "01", "audit", "--by", LEAD), "with --all give only the phase"),
        (("phase", "01", "closed"), "switching phases needs the person doing it: --by LEAD"),
        (("judges", "add", "D", "--role", "boss"), "role must be judge, auditor or lead"),
        (("suggestions", "always", "--by", LEAD), "suggestions must be"),
    ]:
        code, out, err = cli(*args)
        assert code == 2 and out == "" and message in err and err.count("\n") == 1, (args, err)
