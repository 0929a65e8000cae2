"""The agreement report: contract shape, per-code decomposition, bootstrap, cases, time, rendering."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
from rich.console import Console

from transcode.agreement import bootstrap, render
from transcode.agreement import coefficients as C
from transcode.agreement.ratings import ratings_from_records
from transcode.agreement.report import agreement_report, full_report
from transcode.errors import InputError

# Krippendorff (1980) p.133 / (2004) p.224-226: two coders, ten segments, yes/no; alpha = 0.095,
# percent agreement 0.6. Here "yes" is code "rupture" and "no" is rated-without-code.
K1980_BINARY = [(0, 0), (1, 1), (0, 1), (0, 0), (0, 0), (0, 1), (0, 0), (0, 1), (1, 0), (0, 0)]


def binary_records(pairs: list[tuple[int, int]], code: str = "rupture") -> list[tuple[str, str, str | None]]:
    return [
        (f"u{i:02d}", judge, code if given else None)
        for i, pair in enumerate(pairs)
        for judge, given in zip(("A", "B"), pair, strict=True)
    ]


THREE_JUDGES = [
    ("07-0001", "A", "antecedents"),
    ("07-0001", "B", "antecedents"),
    ("07-0001", "C", "antecedents"),
    ("07-0002", "A", "antecedents"),
    ("07-0002", "A", "consequences"),
    ("07-0002", "B", "antecedents"),
    ("07-0002", "C", "consequences"),
    ("07-0003", "A", None),
    ("07-0003", "B", None),
    ("07-0003", "C", "consequences"),
    ("08-0001", "A", "consequences"),
    ("08-0001", "B", "consequences"),
    ("08-0002", "A", "antecedents"),
    ("08-0002", "B", "antecedents"),
    ("08-0002", "C", "antecedents"),
    ("08-0003", "A", "consequences"),
    ("08-0003", "B", "antecedents"),
    ("08-0003", "C", "consequences"),
]


def test_contract_shape_for_two_judges() -> None:
    report = agreement_report(binary_records(K1980_BINARY))
    assert report["n_units"] == 10 and report["n_judges"] == 2 and report["multi_label"] is False
    assert set(report["overall"]) >= {
        "percent_agreement",
        "krippendorff_alpha",
        "fleiss_kappa",
        "gwet_ac1",
        "cohen_kappa",
    }
    entry = report["per_code"]["rupture"]
    assert set(entry) == {
        "percent_agreement",
        "cohen_kappa",
        "fleiss_kappa",
        "krippendorff_alpha",
        "gwet_ac1",
        "prevalence",
    }
    assert entry["krippendorff_alpha"] == pytest.approx(0.095, abs=5e-4)  # Krippendorff's published value
    assert entry["percent_agreement"] == pytest.approx(0.6)
    assert entry["prevalence"] == pytest.approx(6 / 20)
    assert report["pairs"] == [
        {
            "judges": ["A", "B"],
            "cohen_kappa": pytest.approx(entry["cohen_kappa"]),
            "percent_agreement": pytest.approx(0.6),
            "krippendorff_alpha": pytest.approx(0.095, abs=5e-4),
            "n_units": 10,
        }
    ]
    json.dumps(report)  # plain JSON types only


def test_multi_label_overall_uses_masi_and_says_so() -> None:
    report = agreement_report(THREE_JUDGES)
    assert report["multi_label"] is True
    assert report["overall"]["alpha_distance"] == "masi"
    assert "cohen_kappa" not in report["overall"]
    assert all("cohen_kappa" not in entry for entry in report["per_code"].values())
    sets = [
        [{"antecedents"}, {"antecedents"}, {"antecedents"}],
        [{"antecedents", "consequences"}, {"antecedents"}, {"consequences"}],
        [set(), set(), {"consequences"}],
        [{"consequences"}, {"consequences"}, None],
        [{"antecedents"}, {"antecedents"}, {"antecedents"}],
        [{"consequences"}, {"antecedents"}, {"consequences"}],
    ]
    assert report["overall"]["krippendorff_alpha"] == pytest.approx(C.masi_alpha(sets).value)
    consequences = [
        [False, False, False],
        [True, False, True],
        [False, False, True],
        [True, True, None],
        [False, False, False],
        [True, False, True],
    ]
    entry = report["per_code"]["consequences"]
    assert entry["fleiss_kappa"] == pytest.approx(C.fleiss_kappa(consequences).value)
    assert entry["gwet_ac1"] == pytest.approx(C.gwet_ac1(consequences).value)
    assert [pair["judges"] for pair in report["pairs"]] == [["A", "B"], ["A", "C"], ["B", "C"]]


def test_undefined_coefficients_are_null_with_a_reason() -> None:
    records = [("u1", "A", "x"), ("u1", "B", "x"), ("u2", "A", "x"), ("u2", "B", "x")]
    report = agreement_report(records)
    assert report["per_code"]["x"]["krippendorff_alpha"] is None
    assert report["per_code"]["x"]["cohen_kappa"] is None
    assert report["per_code"]["x"]["percent_agreement"] == 1.0
    assert "per_code.x.krippendorff_alpha" in report["undefined"]


def test_bootstrap_formulas_reproduce_the_libraries_with_unit_weights() -> None:
    rng = np.random.default_rng(4)
    matrix = rng.integers(0, 3, size=(40, 4)).astype(object)
    matrix[rng.random(matrix.shape) < 0.2] = None
    ones = np.ones((1, 40))
    codes, categories = C.category_codes(C.as_frame(matrix))
    fleiss = bootstrap.fleiss_kappa_resamples(C.counts_per_unit(codes, len(categories)), ones)[0]
    assert fleiss == pytest.approx(C.fleiss_kappa(matrix).value, abs=1e-10)
    table = C.coincidences(matrix, C.nominal_distance)
    assert bootstrap.alpha_resamples(table, ones)[0] == pytest.approx(
        C.krippendorff_alpha(matrix).value, abs=1e-10
    )
    pair = matrix[:, :2]
    codes, categories = C.category_codes(C.as_frame(pair))
    cohen = bootstrap.cohen_kappa_resamples(
        bootstrap.cohen_cells(codes, len(categories)), len(categories), ones
    )
    assert cohen[0] == pytest.approx(C.cohen_kappa(pair).value, abs=1e-10)


def test_bootstrap_is_seeded_and_brackets_the_estimate() -> None:
    records = binary_records(K1980_BINARY * 5)
    first = full_report(records, resamples=300, seed=7)["confidence_intervals"]
    again = full_report(records, resamples=300, seed=7)["confidence_intervals"]
    other = full_report(records, resamples=300, seed=8)["confidence_intervals"]
    assert first == again and first != other
    low, high = first["per_code"]["rupture"]["krippendorff_alpha"]
    assert low < 0.095 < high
    assert first["per_code"]["rupture"]["cohen_kappa"] is not None


def test_per_case_from_unit_ids_and_from_a_mapping() -> None:
    report = full_report(THREE_JUDGES, resamples=0)
    assert set(report["per_case"]) == {"07", "08"}
    assert report["per_case"]["07"]["n_units"] == 3
    assert "per_case" not in full_report(binary_records(K1980_BINARY), resamples=0)
    mapping = {f"u{i:02d}": "first" if i < 5 else "second" for i in range(10)}
    by_mapping = full_report(binary_records(K1980_BINARY), resamples=0, cases=mapping)["per_case"]
    assert by_mapping["first"]["n_units"] == 5
    assert by_mapping["first"]["percent_agreement"] == pytest.approx(0.8)  # units 0-4: 4 of 5 agree
    assert by_mapping["second"]["percent_agreement"] == pytest.approx(0.4)  # units 5-9: 2 of 5 agree


def test_over_time_ends_at_the_overall_value() -> None:
    report = full_report(binary_records(K1980_BINARY * 3), resamples=0, window=10)
    points = report["over_time"]["points"]
    assert points[-1]["units"] == 30
    assert points[-1]["cumulative_alpha"] == pytest.approx(report["overall"]["krippendorff_alpha"])
    assert points[-1]["rolling_alpha"] == pytest.approx(0.095, abs=5e-4)  # the last 10 units = the example


def test_confusion_counts_the_shared_units() -> None:
    report = full_report(binary_records(K1980_BINARY), resamples=0)
    confusion = report["confusion"]
    assert confusion["labels"] == ["rupture", "(no code)"]
    assert confusion["counts"] == [[1.0, 1.0], [3.0, 5.0]]


def test_records_are_checked() -> None:
    with pytest.raises(InputError, match="at least two judges"):
        ratings_from_records([("u1", "A", "x"), ("u2", "A", "y")])
    with pytest.raises(InputError, match="duplicate rating"):
        ratings_from_records([("u1", "A", "x"), ("u1", "A", "x"), ("u1", "B", "x")])
    with pytest.raises(InputError, match="no code"):
        ratings_from_records([("u1", "A", None), ("u1", "A", "x"), ("u1", "B", "x")])
    with pytest.raises(InputError, match="no ratings"):
        ratings_from_records([])


def test_rendering_shows_every_section(tmp_path) -> None:
    report = full_report(THREE_JUDGES, resamples=200)
    console = Console(file=io.StringIO(), width=160, record=True)
    render.print_report(report, console)
    text = console.export_text()
    assert "antecedents" in text and "A – B" in text and "Per case" in text and "MASI" in text

    render.write_csv(report, tmp_path / "agreement.csv")
    lines = (tmp_path / "agreement.csv").read_text().splitlines()
    assert lines[0] == "scope,item,coefficient,value,ci_low,ci_high"
    assert any(line.startswith("code,antecedents,krippendorff_alpha,") for line in lines)

    render.write_document(report, tmp_path / "agreement.html")
    html = (tmp_path / "agreement.html").read_text()
    assert html.count("data:image/png;base64,") == 3 and "antecedents" in html

    render.write_document(report, tmp_path / "agreement.md")
    assert "![Per-code agreement" in (tmp_path / "agreement.md").read_text()
    pngs = sorted(p.name for p in (tmp_path / "agreement_plots").iterdir())
    assert pngs == ["confusion.png", "over_time.png", "per_code_alpha.png"]
    assert (tmp_path / "agreement_plots" / "confusion.png").read_bytes().startswith(b"\x89PNG")


def test_judges_who_share_no_unit_get_null_pair_values() -> None:
    records = [("u1", "A", "x"), ("u1", "B", "x"), ("u2", "A", "y"), ("u2", "B", "y"), ("u3", "C", "x")]
    report = full_report(records, resamples=50)
    pair = next(p for p in report["pairs"] if p["judges"] == ["A", "C"])
    assert pair == {
        "judges": ["A", "C"],
        "cohen_kappa": None,
        "percent_agreement": None,
        "krippendorff_alpha": None,
        "n_units": 0,
    }
    assert report["undefined"]["pairs.A|C.cohen_kappa"] == "no unit was rated by both judges"
    assert report["overall"]["krippendorff_alpha"] == 1.0


def test_judges_sharing_a_single_unit_get_numbers_not_a_crash() -> None:
    records = [("01-1", "A", "x"), ("01-1", "B", "y"), ("01-2", "A", "y"), ("01-3", "B", "x")]
    report = full_report(ratings_from_records(records), resamples=20)
    assert report["overall"]["percent_agreement"] == 0.0
    assert report["overall"]["fleiss_kappa"] == pytest.approx(-1.0)
    assert report["overall"]["gwet_ac1"] == pytest.approx(-1.0)
