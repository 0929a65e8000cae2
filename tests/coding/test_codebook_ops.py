"""Changing the codebook while the team codes (issue 18): rename, merge, split and retire carry
every code along, refuse to orphan one, and leave the store untouched when refused. Each test
runs on a real SQLite file and a real PostgreSQL database.

The store (tests.support.stores.build_store): cases 01 and 02, six units each, judges A and B and
lead L. Judges code case 02 (then opened for consensus, with consensus codes) and case 01 (left
in independent coding).
"""

from __future__ import annotations

import json
from collections import Counter

import pytest
import yaml

from tests.support import DEMO
from tests.support.stores import LEAD, build_store, open_phase
from transcode.cli import run
from transcode.codebook import parse_codebook
from transcode.codebook_changes import parse_operations
from transcode.coding import codebook_ops
from transcode.coding.codes import Decision
from transcode.coding.consensus import ConsensusSession, all_judge_codes, ratings_records
from transcode.coding.independent import judge_codes, record_decisions
from transcode.coding.queue import load_proposals
from transcode.errors import InputError, StoreError

#: (judge, unit, domains): what each judge codes.
CODES = [
    ("A", "01-0001", ["client_context"]),
    ("A", "01-0004", ["antecedents"]),
    ("A", "01-0005", ["rupture_markers"]),
    ("B", "01-0001", ["client_context"]),
    ("B", "01-0004", ["antecedents", "therapist_reactions"]),
    ("A", "02-0003", ["supervision"]),
    ("B", "02-0003", ["therapist_learning"]),
    ("A", "02-0004", ["supervision", "therapist_learning"]),
    ("B", "02-0004", ["supervision"]),
    ("A", "02-0006", ["consequences"]),
    ("B", "02-0006", ["consequences"]),
]
CONSENSUS = {
    "02-0003": ["supervision"],
    "02-0004": ["supervision", "therapist_learning"],
    "02-0006": ["consequences"],
}


@pytest.fixture()
def store(db_url):
    s = build_store(db_url)
    for judge, unit, domains in CODES:
        record_decisions(s, judge, unit, [Decision(d, "added") for d in domains])
    open_phase(s, "consensus", ["02"])
    for unit, domains in CONSENSUS.items():
        s.set_consensus(unit, domains, recorded_by=LEAD)
    yield s
    s.close()


def demo_book() -> dict:
    return yaml.safe_load((DEMO / "codebook.yaml").read_text(encoding="utf-8"))


def changed(book: dict, *, drop=(), add=(), rename: dict | None = None):
    """The demo codebook without ``drop``, with ``add`` (id, name) pairs, ids renamed by ``rename``."""
    domains = [dict(d) for d in book["domains"] if d["id"] not in drop]
    for d in domains:
        d["id"] = (rename or {}).get(d["id"], d["id"])
    domains += [{"id": i, "name": n, "description": f"{n}."} for i, n in add]
    return parse_codebook({**book, "domains": domains}, "new.yaml")


def counts(store) -> dict:
    """What the store holds per kind of code, in the current codebook."""
    codes = all_judge_codes(store, cases=["01", "02"])
    judge = Counter(d for by_unit in codes.values() for c in by_unit.values() for d in c)
    consensus = Counter(d for c in store.consensus().values() for d in c)
    return {"judge": dict(judge), "consensus": dict(consensus), "version": store.codebook_version()}


def test_rename_moves_every_judge_and_consensus_code(store):
    before = counts(store)
    assert before["judge"]["client_context"] == 2 and before["version"] == 1
    new = changed(demo_book(), rename={"client_context": "context"})
    applied = codebook_ops.apply(store, new, parse_operations(["client_context=context"]), LEAD)
    after = counts(store)
    assert applied.version == 2 and after["version"] == 2
    assert after["judge"]["context"] == 2 and "client_context" not in after["judge"]
    assert judge_codes(store, "A")["01-0001"] == {"context"}
    assert sum(after["judge"].values()) == sum(before["judge"].values())
    assert after["consensus"] == before["consensus"]  # no consensus code held client_context
    event = store.events(kind="codebook")[-1]
    assert event.actor == LEAD and event.details["to_version"] == 2
    assert event.details["operations"][0]["moved"]["judge_codes"] == 2
    # the decision log keeps what the judges did, as they did it
    assert [d.domain for d in store.decision_log("A") if d.unit == "01-0001"] == ["client_context"]


def test_merge_moves_consensus_proposals_and_keeps_one_code_per_unit(store):
    before = counts(store)
    assert before["consensus"] == {"supervision": 2, "therapist_learning": 1, "consequences": 1}
    new = changed(demo_book(), drop=("supervision", "therapist_learning"), add=[("learning", "Learning")])
    ops = parse_operations(merges=["supervision,therapist_learning=learning"])
    applied = codebook_ops.apply(store, new, ops, LEAD)
    after = counts(store)
    assert after["consensus"] == {"learning": 2, "consequences": 1}  # 02-0004 held both: one code now
    assert store.consensus()["02-0004"] == {"learning"}
    # A: 02-0003 and 02-0004 (both domains), B: 02-0003 and 02-0004 -> four units coded learning
    assert after["judge"]["learning"] == 4
    moved = applied.operations[0]["moved"]
    assert moved["judge_codes"] == 5 and moved["consensus_codes"] == 3
    proposals = load_proposals(store)
    assert not any(
        d in ("supervision", "therapist_learning") for p in proposals.values() for d, _ in p.scores
    )
    assert any(d == "learning" for p in proposals.values() for d, _ in p.scores)


def test_agreement_across_a_merge_is_reported_per_version_or_mapped(store):
    new = changed(demo_book(), drop=("supervision", "therapist_learning"), add=[("learning", "Learning")])
    codebook_ops.apply(store, new, parse_operations(merges=["supervision,therapist_learning=learning"]), LEAD)
    as_coded = {(u, j, c) for u, j, c in ratings_records(store, cases=["02"], as_coded_in=1)}
    mapped = {(u, j, c) for u, j, c in ratings_records(store, cases=["02"])}
    assert ("02-0003", "A", "supervision") in as_coded and ("02-0003", "B", "therapist_learning") in as_coded
    assert {("02-0003", "A", "learning"), ("02-0003", "B", "learning")} <= mapped
    with pytest.raises(InputError, match="no codebook version 7"):
        ratings_records(store, cases=["02"], as_coded_in=7)


def test_split_queues_the_units_for_the_judge_who_coded_them_and_for_the_team(store):
    new = changed(
        demo_book(),
        drop=("antecedents", "consequences"),
        add=[("trigger_session", "In session"), ("trigger_outside", "Outside"), ("after", "After"),
             ("later", "Later")],
    )  # fmt: skip
    ops = parse_operations(splits=["antecedents=trigger_session,trigger_outside", "consequences=after,later"])
    applied = codebook_ops.apply(store, new, ops, LEAD)
    assert applied.operations[0]["moved"]["recode"] == 2  # A and B coded 01-0004 antecedents
    assert applied.operations[1]["moved"]["recode"] == 1  # the team's 02-0006 (02 is past independent)
    recode_a = codebook_ops.pending_recodes(store, "A")
    assert [(r.unit, r.domain, r.into) for r in recode_a] == [
        ("01-0004", "antecedents", ("trigger_session", "trigger_outside"))
    ]
    assert judge_codes(store, "A")["01-0004"] == frozenset()  # no longer counted: waits for the recode
    assert judge_codes(store, "B")["01-0004"] == {"therapist_reactions"}
    assert [r.unit for r in codebook_ops.pending_recodes(store, team=True)] == ["02-0006"]
    assert "02-0006" not in store.consensus()
    record_decisions(store, "A", "01-0004", [Decision("trigger_outside", "added")])
    assert codebook_ops.pending_recodes(store, "A") == []
    assert [r.unit for r in codebook_ops.pending_recodes(store, "B")] == ["01-0004"]
    # the consensus view offers it (the judges agreed on consequences: no disagreement otherwise)
    session = ConsensusSession(store, store.codebook(), LEAD)
    [recode] = [d for d in session.items if d.recode is not None]
    assert recode.item.key == "02-0006" and recode.consensus is None
    session.index = session.items.index(recode)
    session.toggle(new.domain_ids.index("after") + 1)
    assert store.consensus()["02-0006"] == {"after"}
    assert codebook_ops.pending_recodes(store, team=True) == []


def test_retire_keeps_codes_in_history_but_no_longer_counts_them(store):
    assert counts(store)["judge"]["consequences"] == 2
    new = changed(demo_book(), drop=("consequences",))
    applied = codebook_ops.apply(store, new, parse_operations(retires=["consequences"]), LEAD)
    after = counts(store)
    assert "consequences" not in after["judge"] and "consequences" not in after["consensus"]
    assert applied.operations[0]["moved"] == {"judge_codes": 2, "consensus_codes": 1, "proposals": 12}
    assert any(d.domain == "consequences" for d in store.decision_log("A"))  # the history stays
    view = codebook_ops.show(store)
    assert [entry["operations"][0]["op"] for entry in view.history[1:]] == ["retire"]


def test_show_counts_judges_codes_only_in_cases_past_independent(store):
    view = codebook_ops.show(store)
    by_id = {d.id: d for d in view.domains}
    assert by_id["client_context"].judge_codes == 0  # case 01 is coded blind
    assert by_id["supervision"].judge_codes == 3 and by_id["supervision"].consensus_codes == 2
    assert view.blind_cases == 1


def nothing_changed(store, before) -> None:
    assert counts(store) == before
    assert store.events(kind="codebook") == []


def test_an_apply_that_would_orphan_codes_is_refused_naming_them(store):
    before = counts(store)
    new = changed(demo_book(), drop=("client_context", "rupture_markers"))
    with pytest.raises(
        StoreError, match=r"orphan codes: 'client_context' holds 2 judge codes.*'rupture_markers'"
    ):
        codebook_ops.apply(store, new, [], LEAD)
    nothing_changed(store, before)
    result = codebook_ops.plan(store, new)
    assert set(result.orphaned) == {"client_context", "rupture_markers"}


def test_init_with_a_codebook_that_orphans_codes_is_refused(store, tmp_path, capsys):
    before = counts(store)
    path = tmp_path / "new.yaml"
    book = demo_book()
    book["domains"] = [d for d in book["domains"] if d["id"] != "client_context"]
    path.write_text(yaml.safe_dump(book), encoding="utf-8")
    url = store.engine.url.render_as_string(hide_password=False)
    assert run(["init", "--db", url, "--codebook", str(path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "drops 'client_context'" in err[0] and "codebook apply" in err[0]
    nothing_changed(store, before)


def write(tmp_path, codebook) -> str:
    path = tmp_path / "new.yaml"
    path.write_text(yaml.safe_dump(codebook.to_dict()), encoding="utf-8")
    return str(path)


@pytest.mark.parametrize(
    ("new_book", "options", "message"),
    [
        (
            {"rename": {"client_context": "context"}},
            ["--rename", "client_kontext=context"],
            "unknown domain 'client_kontext'",
        ),
        (
            {"rename": {"client_context": "x1", "antecedents": "x2"}, "add": [("client_context", "C")]},
            ["--rename", "client_context=antecedents", "--rename", "antecedents=client_context"],
            "a cycle of renames: client_context -> antecedents -> client_context",
        ),
        (
            {"drop": ("supervision",)},
            ["--merge", "supervision,client_context=therapist_learning"],
            "'therapist_learning' is already a domain of the current codebook",
        ),
    ],
)
def test_bad_applies_are_one_line_exit_2_and_change_nothing(
    store, tmp_path, capsys, new_book, options, message
):
    before = counts(store)
    path = write(tmp_path, changed(demo_book(), **new_book))
    url = store.engine.url.render_as_string(hide_password=False)
    code = run(["codebook", "apply", path, "--by", LEAD, *options, "--db", url])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert len(err) == 1 and message in err[0] and err[0].startswith(f"transcode: error: {path}: ")
    nothing_changed(store, before)


def test_the_cli_shows_diffs_and_applies(store, tmp_path, capsys):
    url = store.engine.url.render_as_string(hide_password=False)
    path = write(tmp_path, changed(demo_book(), rename={"client_context": "context"}))
    assert run(["codebook", "diff", path, "--by", LEAD, "--db", url, "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["removed"] == ["client_context"] and result["added"] == ["context"]
    assert result["renamed"] == [{"from": "client_context", "to": "context"}]  # same name: a likely rename
    assert result["orphaned"] == {"client_context": {"judge_codes": 2}}  # proposals are not codes
    assert (
        run(["codebook", "apply", path, "--by", LEAD, "--rename", "client_context=context", "--db", url]) == 0
    )
    assert "codebook v2: rename client_context -> context (2 judge codes" in capsys.readouterr().err
    assert run(["codebook", "show", "--db", url, "--json"]) == 0
    view = json.loads(capsys.readouterr().out)
    assert view["version"] == 2 and view["domains"][0]["id"] == "context"
    assert view["history"][1]["by"] == LEAD


def test_agree_says_which_codes_it_compares_across_a_merge(store, capsys, tmp_path):
    new = changed(demo_book(), drop=("supervision", "therapist_learning"), add=[("learning", "Learning")])
    codebook_ops.apply(store, new, parse_operations(merges=["supervision,therapist_learning=learning"]), LEAD)
    url = store.engine.url.render_as_string(hide_password=False)
    reports = {}
    for version in (None, 1):
        report = tmp_path / f"agreement_{version}.html"
        args = ["agree", "--db", url, "--json", "--resamples", "0", "--report", str(report)]
        assert run(args + (["--codebook-version", str(version)] if version else [])) == 0
        reports[version] = json.loads(capsys.readouterr().out)
    assert reports[None]["codes"]["mapped"] and reports[None]["codes"]["codebook_version"] == 2
    assert reports[1]["codes"]["codebook_version"] == 1 and not reports[1]["codes"]["mapped"]
    assert "codes as given under codebook v1 (not mapped)" in (tmp_path / "agreement_1.html").read_text()
    assert "codes mapped to codebook v2" in (tmp_path / "agreement_None.html").read_text()
    mapped, as_coded = (reports[v]["overall"]["percent_agreement"] for v in (None, 1))
    # 02-0003 (supervision vs therapist_learning) disagrees as coded and agrees once merged
    assert mapped > as_coded


def test_init_stores_a_codebook_that_orphans_nothing_as_a_new_version(store, tmp_path, capsys):
    before = counts(store)
    book = demo_book()
    book["domains"] = [d for d in book["domains"] if d["id"] != "repair_actions"]  # nobody coded it
    book["domains"].append({"id": "humour", "name": "Humour"})
    path = tmp_path / "new.yaml"
    path.write_text(yaml.safe_dump(book), encoding="utf-8")
    url = store.engine.url.render_as_string(hide_password=False)
    assert run(["init", "--db", url, "--codebook", str(path), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["codebook_version"] == 2
    assert counts(store) == {**before, "version": 2}
    [event] = store.events(kind="codebook")
    assert event.details["added"] == ["humour"] and event.details["removed"] == ["repair_actions"]
    proposals = load_proposals(store)
    assert not any(d == "repair_actions" for p in proposals.values() for d, _ in p.scores)
    assert codebook_ops.proposals_stale(store)  # the model does not know humour yet
    assert run(["init", "--db", url, "--codebook", str(path)]) == 0  # the same again: no new version
    assert store.codebook_version() == 2
