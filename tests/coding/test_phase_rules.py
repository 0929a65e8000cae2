"""The phase rule over every command and API path that reads judges' codes, as a table.

Judges A and B code both cases of the coding room's store, every unit differently (A: client
context; B: antecedents), so any output that holds B's codes of a case shows it. Each path is
run with the cases in four states, on SQLite and PostgreSQL:

- ``independent``: both cases still coded blind;
- ``partial``: case 01 opened for consensus, case 02 still independent;
- ``opened``: both in consensus;
- ``unlocked``: both independent, and a lead passes ``--unlock`` (the trail must record it).

Each path returns the cases whose judges' codes it showed, or raises the refusal; the table says
which, per state. A refusal is exit 2 with one line (the CLI) or a PhaseError (the library).
"""

from __future__ import annotations

import json
from collections.abc import Callable

import pandas as pd
import pytest

import transcode
from tests.support.stores import LEAD, build_store, open_phase
from transcode.cli import run
from transcode.coding.codes import Decision
from transcode.coding.independent import record_decisions
from transcode.coding.queue import coding_queue
from transcode.errors import PhaseError
from transcode.tui.app import TranscodeApp

BOTH = frozenset({"01", "02"})
FIRST = frozenset({"01"})
REFUSED = "refused"
STATES = ("independent", "partial", "opened", "unlocked")


@pytest.fixture()
def coded(db_url):
    store = build_store(db_url)
    for item in coding_queue(store):
        record_decisions(store, "A", item.key, [Decision("client_context", "added")])
        record_decisions(store, "B", item.key, [Decision("antecedents", "added")])
    yield store, db_url
    store.close()


def enter(store, state: str) -> None:
    if state == "partial":
        open_phase(store, "consensus", ["01"])
    elif state == "opened":
        open_phase(store, "consensus")


def cli(capsys, *args: str) -> str:
    """Run ``transcode ARGS`` in this process: stdout, or PhaseError with the one stderr line."""
    code = run(list(args))
    out, err = capsys.readouterr()
    if code == 2 and ("one judge's codes" in err or "no case has reached consensus" in err):
        assert err.count("\n") == 1, err
        raise PhaseError(err.strip())
    assert code == 0, err
    return out


def unlock(state: str) -> list[str]:
    return ["--unlock", "--by", LEAD] if state == "unlocked" else []


def agree(store, url, state, capsys, tmp_path):
    report = json.loads(cli(capsys, "agree", "--db", url, "--json", "--resamples", "0", *unlock(state)))
    assert report["n_units"] == 6 * len(report["cases"])  # every unit of the cases shown, no more
    assert set(report["calibration"]) == set(report["cases"])
    return frozenset(report["cases"])


def agree_case_02(store, url, state, capsys, tmp_path):
    report = json.loads(cli(capsys, "agree", "--db", url, "--case", "02", "--json", "--resamples", "0"))
    return frozenset(report["cases"])


def export_table(fmt: str) -> Callable:
    def export(store, url, state, capsys, tmp_path):
        out = tmp_path / ("tables" if fmt == "csv" else "study.xlsx")
        cli(capsys, "export", "--db", url, "--format", fmt, "--out", str(out), *unlock(state))
        if fmt == "csv":
            codes, decisions = (
                pd.read_csv(out / "codes.csv", dtype=str),
                pd.read_csv(out / "decisions.csv", dtype=str),
            )
        else:
            codes, decisions = (pd.read_excel(out, sheet_name=s, dtype=str) for s in ("codes", "decisions"))
        assert set(codes["case"]) == set(decisions["case"])
        return frozenset(codes[codes["judge"] == "B"]["case"])

    return export


def export_qdpx(store, url, state, capsys, tmp_path):
    from transcode.exchange import refi

    out = tmp_path / "study.qdpx"
    cli(capsys, "export", "--db", url, "--format", "qdpx", "--out", str(out), *unlock(state))
    codings = refi.read_qdpx(out).judge_codes  # the per-user codings of the .qdpx
    return frozenset(unit.split("-")[0] for unit in codings.get("B", {}))


def export_qdc(store, url, state, capsys, tmp_path):
    cli(capsys, "export", "--db", url, "--format", "qdc", "--out", str(tmp_path / "codebook.qdc"))
    return frozenset()  # the codebook holds nobody's codes, so it is never refused


def api(method: str) -> Callable:
    def read(store, url, state, capsys, tmp_path):
        with transcode.open(url) as project:
            frame = getattr(project, method)()
        return frozenset(frame[frame["judge"] == "B"]["case"])

    return read


def consensus_view(store, url, state, capsys, tmp_path):
    app = TranscodeApp(store, mode="consensus", judge=LEAD, use_model=False, unlock=state == "unlocked")
    session = app.main.session
    shown = frozenset(d.item.case for d in session.items)
    assert all(set(d.by_judge) == {"A", "B"} for d in session.items)
    return shown


def consensus_view_case_02(store, url, state, capsys, tmp_path):
    app = TranscodeApp(store, mode="consensus", judge=LEAD, case="02", use_model=False)
    return frozenset(d.item.case for d in app.main.session.items)


def coding_room_of_a(store, url, state, capsys, tmp_path):
    """A's coding room: only A's own codes, and only cases still in independent coding."""
    app = TranscodeApp(store, judge="A", use_model=False)
    session = app.main.session
    assert session.codes and all(codes == {"client_context"} for codes in session.codes.values())
    return frozenset()  # never another judge's codes, whatever the phase


def status(store, url, state, capsys, tmp_path):
    """Units coded are counted in opened cases only: nobody learns the others' progress from here."""
    document = json.loads(cli(capsys, "status", "--db", url, "--json"))
    opened = frozenset(c for c, p in document["phases"].items() if p != "independent")
    assert document["coded"] == 6 * len(opened)
    return opened


#: path -> what it shows (the cases whose judges' codes it reveals) or REFUSED, per state.
TABLE: dict[str, tuple[Callable, dict[str, frozenset[str] | str]]] = {
    "agree --db": (agree, {"independent": REFUSED, "partial": FIRST, "opened": BOTH, "unlocked": BOTH}),
    "agree --db --case 02": (
        agree_case_02,
        {"independent": REFUSED, "partial": REFUSED, "opened": frozenset({"02"})},
    ),
    "export --format csv": (
        export_table("csv"),
        {"independent": REFUSED, "partial": REFUSED, "opened": BOTH, "unlocked": BOTH},
    ),
    "export --format xlsx": (
        export_table("xlsx"),
        {"independent": REFUSED, "partial": REFUSED, "opened": BOTH, "unlocked": BOTH},
    ),
    "export --format qdpx": (
        export_qdpx,
        {"independent": REFUSED, "partial": REFUSED, "opened": BOTH, "unlocked": BOTH},
    ),
    "export --format qdc": (
        export_qdc,
        {"independent": frozenset(), "partial": frozenset(), "opened": frozenset()},
    ),
    "transcode.open().codes()": (
        api("codes"),
        {"independent": REFUSED, "partial": REFUSED, "opened": BOTH, "unlocked": REFUSED},
    ),
    "transcode.open().decisions()": (
        api("decisions"),
        {"independent": REFUSED, "partial": REFUSED, "opened": BOTH, "unlocked": REFUSED},
    ),
    "code --consensus": (
        consensus_view,
        {"independent": REFUSED, "partial": FIRST, "opened": BOTH, "unlocked": BOTH},
    ),
    "code --consensus --case 02": (
        consensus_view_case_02,
        {"independent": REFUSED, "partial": REFUSED, "opened": frozenset({"02"})},
    ),
    "code --judge A": (
        coding_room_of_a,
        {"independent": frozenset(), "partial": frozenset(), "unlocked": frozenset()},
    ),
    "status": (status, {"independent": frozenset(), "partial": FIRST, "opened": BOTH}),
}
CASES = [(path, state) for path, (_, expected) in TABLE.items() for state in STATES if state in expected]


@pytest.mark.parametrize(("path", "state"), CASES, ids=[f"{p} [{s}]" for p, s in CASES])
def test_phase_rules(coded, path, state, capsys, tmp_path):
    store, url = coded
    enter(store, state)
    read, expected = TABLE[path]
    unlocks_before = len(store.events(kind="unlock"))
    if expected[state] == REFUSED:
        with pytest.raises(PhaseError):
            read(store, url, state, capsys, tmp_path)
        assert len(store.events(kind="unlock")) == unlocks_before
        return
    assert read(store, url, state, capsys, tmp_path) == expected[state]
    unlocks = store.events(kind="unlock")[unlocks_before:]
    if state == "unlocked" and expected[state]:
        [event] = unlocks  # logged: who, which command, which cases it opened
        assert event.actor == LEAD and event.details["cases"] == ["01", "02"]
    else:
        assert unlocks == []


def test_a_coding_room_opens_only_on_cases_still_independent(coded):
    store, _ = coded
    open_phase(store, "consensus", ["01"])
    app = TranscodeApp(store, judge="A", use_model=False)
    assert {item.case for item in app.main.session.queue} == {"02"}
    open_phase(store, "consensus", ["02"])
    with pytest.raises(PhaseError, match="A has no case to code"):
        TranscodeApp(store, judge="A", use_model=False)
    with pytest.raises(PhaseError, match="independent coding is over"):
        record_decisions(store, "A", "01-0001", [Decision("supervision", "added")])


def test_only_a_lead_unlocks_and_every_refusal_says_how_to_go_on(coded, capsys):
    store, url = coded
    message = str(pytest.raises(PhaseError, lambda: cli(capsys, "agree", "--db", url, "--case", "01")).value)
    assert "case 01 is still in independent coding" in message
    assert "`transcode phase CASE consensus --by LEAD`" in message and "--unlock --by LEAD" in message
    assert run(["agree", "--db", url, "--unlock", "--by", "A"]) == 2
    assert "A is a judge; --unlock needs a lead" in capsys.readouterr().err
    assert run(["export", "--db", url, "--format", "csv", "--out", "x", "--unlock"]) == 2
    assert "--unlock needs the lead" in capsys.readouterr().err
    with pytest.raises(PhaseError, match="this API only reads, so it cannot log an unlock"):
        transcode.open(url).codes()
    assert store.events(kind="unlock") == []
