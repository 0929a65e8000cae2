"""Agreement on real data: AnnoMI's 428 utterances labelled by all 10 annotators.

Therapist utterances carry a main behaviour (question / reflection /
therapist_input / other) and flags that can co-occur (a multi-label code set);
client utterances carry a talk type (change / neutral / sustain). Units are
``<transcript>-<utterance>``, so the per-case view is per transcript. Skips
when ../shared is absent.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from statsmodels.stats import inter_rater

from tests.support import SHARED
from transcode.agreement.report import full_report

ANNOMI = SHARED / "data" / "annomi" / "AnnoMI-full.csv"
FLAGS = {
    "therapist_input_exists": "therapist_input",
    "reflection_exists": "reflection",
    "question_exists": "question",
}

pytestmark = [
    pytest.mark.shared,
    pytest.mark.skipif(not ANNOMI.exists(), reason="../shared/data/annomi absent"),
]


@pytest.fixture(scope="module")
def ten_annotator_subset() -> pd.DataFrame:
    frame = pd.read_csv(ANNOMI)
    annotators = frame.groupby(["transcript_id", "utterance_id"])["annotator_id"].transform("nunique")
    subset = frame[annotators == 10].copy()
    subset["unit"] = subset["transcript_id"].astype(str) + "-" + subset["utterance_id"].astype(str)
    subset["judge"] = "annotator" + subset["annotator_id"].astype(str)
    return subset


def single_label_records(frame: pd.DataFrame, column: str) -> list[tuple[str, str, str]]:
    return list(zip(frame["unit"], frame["judge"], frame[column], strict=True))


def flag_records(frame: pd.DataFrame) -> list[tuple[str, str, str | None]]:
    records: list[tuple[str, str, str | None]] = []
    for row in frame.itertuples():
        codes = [
            code
            for column, code in FLAGS.items()
            if pd.notna(getattr(row, column)) and bool(getattr(row, column))
        ]
        records += [(row.unit, row.judge, code) for code in codes] or [(row.unit, row.judge, None)]
    return records


def test_subset_is_428_utterances_by_10_annotators(ten_annotator_subset) -> None:
    assert ten_annotator_subset["unit"].nunique() == 428
    assert len(ten_annotator_subset) == 4280


def test_therapist_behaviour(ten_annotator_subset) -> None:
    therapist = ten_annotator_subset[ten_annotator_subset["interlocutor"] == "therapist"]
    report = full_report(single_label_records(therapist, "main_therapist_behaviour"), resamples=500, seed=1)
    assert (report["n_units"], report["n_judges"], report["multi_label"]) == (216, 10, False)
    overall = report["overall"]
    # Measured: alpha 0.737, Fleiss 0.737, AC1 0.740, percent agreement 0.804.
    assert 0.6 < overall["krippendorff_alpha"] < 0.85
    assert 0.6 < overall["fleiss_kappa"] < 0.85
    assert 0.7 < overall["percent_agreement"] < 0.9
    # Complete data (10 ratings per unit): Fleiss must equal statsmodels' classic Fleiss.
    wide = therapist.pivot(index="unit", columns="judge", values="main_therapist_behaviour")
    counts, _ = inter_rater.aggregate_raters(wide.to_numpy())
    assert overall["fleiss_kappa"] == pytest.approx(inter_rater.fleiss_kappa(counts), abs=1e-10)
    assert set(report["per_code"]) == {"question", "reflection", "therapist_input", "other"}
    for code, interval in report["confidence_intervals"]["per_code"].items():
        low, high = interval["krippendorff_alpha"]
        assert low < report["per_code"][code]["krippendorff_alpha"] < high
        assert high - low < 0.25
    assert len(report["pairs"]) == 45
    assert all(0.3 < pair["cohen_kappa"] < 0.95 for pair in report["pairs"])
    assert len(report["per_case"]) == therapist["transcript_id"].nunique()


def test_client_talk_type_agrees_less(ten_annotator_subset) -> None:
    client = ten_annotator_subset[ten_annotator_subset["interlocutor"] == "client"]
    report = full_report(single_label_records(client, "client_talk_type"), resamples=200)
    # Measured: alpha 0.467, Fleiss 0.467, AC1 0.583 (AC1 > kappa: "neutral" dominates, prevalence 0.59).
    assert 0.3 < report["overall"]["krippendorff_alpha"] < 0.65
    assert report["overall"]["gwet_ac1"] > report["overall"]["fleiss_kappa"]
    assert report["per_code"]["neutral"]["prevalence"] > 0.5


def test_therapist_flags_as_code_sets_use_masi(ten_annotator_subset) -> None:
    therapist = ten_annotator_subset[ten_annotator_subset["interlocutor"] == "therapist"]
    report = full_report(flag_records(therapist), resamples=200)
    assert report["multi_label"] is True and report["overall"]["alpha_distance"] == "masi"
    # Measured: MASI alpha 0.702; exact-set percent agreement 0.731.
    masi = report["overall"]["krippendorff_alpha"]
    assert 0.55 < masi < 0.85
    low, high = report["confidence_intervals"]["overall"]["krippendorff_alpha"]
    assert low < masi < high
    points = report["over_time"]["points"]
    assert points[-1]["cumulative_alpha"] == pytest.approx(masi)
    assert np.isfinite([point["rolling_alpha"] for point in points]).all()
