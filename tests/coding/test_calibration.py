"""What the team sees at consensus: each case's calibration, and what the model's suggestions did."""

from __future__ import annotations

import json

import pytest
from sklearn.metrics import cohen_kappa_score

from tests.support.stores import build_store, open_phase, suggested_codes
from transcode.agreement import agreement_report
from transcode.cli import run
from transcode.coding import calibration
from transcode.coding.codes import Decision
from transcode.coding.consensus import ratings_records
from transcode.coding.independent import record_decisions
from transcode.coding.queue import coding_queue, load_proposals

MODEL = "zeroshot:test"


@pytest.fixture()
def study(db_url):
    """Case 01 coded with the suggestions on the screen (A kept each one, B changed two), case 02
    without them (A and B by hand, disagreeing on two units), then consensus = the model's
    suggestion except on 02-0006."""
    store = build_store(db_url)
    suggested = suggested_codes()
    for item in coding_queue(store, case="01"):
        model = sorted(suggested[item.key] - {"other"})
        accepted = [Decision(d, "accepted", model_version=MODEL) for d in model] or [
            Decision(None, "other", model_version=MODEL)
        ]
        record_decisions(store, "A", item.key, accepted, suggestions_shown=True)
        if item.key in ("01-0003", "01-0006"):
            record_decisions(store, "B", item.key, [Decision("supervision", "added")], suggestions_shown=True)
        else:
            record_decisions(store, "B", item.key, accepted, suggestions_shown=True)
    for item in coding_queue(store, case="02"):
        record_decisions(store, "A", item.key, [Decision("repair_actions", "added")], suggestions_shown=False)
        other = "supervision" if item.key in ("02-0001", "02-0002") else "repair_actions"
        record_decisions(store, "B", item.key, [Decision(other, "added")], suggestions_shown=False)
    open_phase(store, "consensus")
    for key, codes in suggested.items():
        store.set_consensus(key, codes - {"other"} if key != "02-0006" else {"supervision"}, "L")
    yield store
    store.close()


def test_calibration_is_the_agreement_of_the_case_s_judges(study):
    summary = calibration.case_calibration(study, "02")
    report = agreement_report(ratings_records(study, cases=["02"]))
    assert summary["judges"] == ["A", "B"] and summary["n_units"] == 6
    assert summary["kappa_kind"] == "Cohen" and summary["kappa"] == report["overall"]["cohen_kappa"]
    assert summary["percent_agreement"] == pytest.approx(4 / 6)
    assert set(summary["per_domain"]) == {"repair_actions", "supervision"}
    assert summary["per_domain"]["supervision"]["kappa"] == report["per_code"]["supervision"]["cohen_kappa"]


def test_every_case_s_calibration_at_once_is_each_case_s_own(study):
    together = calibration.calibration(study, ["01", "02"])
    for case in ("01", "02"):
        alone = calibration.case_calibration(study, case)
        flat = {k: v for k, v in alone.items() if k != "per_domain"}
        assert {k: v for k, v in together[case].items() if k != "per_domain"} == pytest.approx(
            flat, abs=1e-12
        )
        assert set(together[case]["per_domain"]) == set(alone["per_domain"])
        for domain, entry in alone["per_domain"].items():
            assert together[case]["per_domain"][domain] == pytest.approx(entry, abs=1e-12), (case, domain)


def test_suggestions_kept_and_agreement_with_and_without_them(study):
    report = calibration.suggestion_report(study, ["01", "02"])
    assert report["per_judge"]["A"] == {
        "units": 12,
        "kept": 6,
        "kept_rate": 0.5,
        "units_with_suggestions": 6,
        "units_without_suggestions": 6,
        "units_not_recorded": 0,
        "note": False,
    }
    assert report["per_judge"]["B"]["kept"] == 4
    seen, unseen = (report["agreement_by_visibility"][s] for s in ("with suggestions", "without suggestions"))
    assert (seen["n_units"], seen["percent_agreement"]) == (6, pytest.approx(4 / 6))
    assert (unseen["n_units"], unseen["percent_agreement"]) == (6, pytest.approx(4 / 6))
    assert set(report["agreement_by_visibility"]) == {"with suggestions", "without suggestions"}


def test_the_model_as_one_more_coder_against_the_consensus(study):
    model = calibration.model_vs_consensus(study, ["01", "02"])
    proposals, consensus = load_proposals(study), study.consensus()
    units = sorted(consensus)
    assert model["n_units"] == 12 and model["model_versions"] == [MODEL]
    for domain in ("supervision", "repair_actions", "client_context"):
        by_model = [domain in proposals[u].suggested for u in units]
        agreed = [domain in consensus[u] for u in units]
        expected = cohen_kappa_score(by_model, agreed)
        assert model["per_domain"][domain]["cohen_kappa"] == pytest.approx(expected), domain


def test_the_agreement_report_from_the_store_carries_all_of_it(study, db_url, capsys, tmp_path):
    code = run(["agree", "--db", db_url, "--json", "--resamples", "0"])
    out, err = capsys.readouterr()
    assert code == 0, err
    report = json.loads(out)
    assert set(report["calibration"]) == {"01", "02"} and report["withheld_cases"] == []
    assert report["suggestions"]["model_vs_consensus"]["n_units"] == 12
    document = tmp_path / "agreement.md"
    assert run(["agree", "--db", db_url, "--report", str(document), "--resamples", "0"]) == 0
    text = document.read_text(encoding="utf-8")
    for header in ("| case | judges | units | κ |", "| judge | units | kept |", "| units coded | units |"):
        assert header in text
    assert "| without suggestions | 6 |" in text and "| all domains | 12 |" in text
    assert "Suggestions: a unit counts as seen" in text
    printed = capsys.readouterr().out
    assert "Suggestions kept, per judge" in printed and "The model as one more coder" in printed
