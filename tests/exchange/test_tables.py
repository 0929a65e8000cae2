"""Flat tables for R/SPSS/Excel: the DataFrame API, CSV files and the workbook agree with the store."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from typer.testing import CliRunner

import transcode
from tests.support.stores import build_demo_store
from transcode.coding.consensus import all_judge_codes


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    return build_demo_store(tmp_path_factory.mktemp("tables"), judged_units=200)


@pytest.fixture(scope="module")
def project(db):
    with transcode.open(db) as opened:
        yield opened


def test_units_carry_case_attributes(project):
    units = project.units()
    assert len(units) == 1119 and units["case"].nunique() == 12
    assert {"anxiety", "avoidance", "gender", "year_in_program"} <= set(units.columns)
    first = units.iloc[0]
    assert first["unit"].startswith("01-") and first["anxiety"] == "high"


def test_codes_are_each_judges_current_codes(project, db):
    from transcode.store import open_store

    codes = project.codes()
    store = open_store(db)
    try:
        expected = all_judge_codes(store, cases=list(store.case_phases()))
    finally:
        store.close()
    for judge in ("A", "B"):
        mine = codes[codes["judge"] == judge].groupby("unit")["code"].agg(frozenset).to_dict()
        assert mine == {u: c for u, c in expected[judge].items() if c}
    assert len(project.decisions()) >= len(codes)


def test_consensus_and_analysis_tables(project):
    consensus = project.consensus()
    assert consensus["unit"].nunique() == 1119
    ideas = project.core_ideas()
    assert len(ideas) == 111 and ideas["counted"].all()
    categories = project.categories()
    assert len(categories) == 29
    assert (categories["n_cases"] <= 12).all()


def test_cross_table_matches_the_cross_command(project, db):
    from transcode.cli import _register, app

    _register()
    result = CliRunner().invoke(app, ["cross", "--db", db, "--compare", "anxiety", "--json"])
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    table = project.cross_table(compare=["anxiety"])
    assert list(table["count"]) == [c["count"] for c in document["categories"]]
    assert list(table["label"]) == [c["label"] for c in document["categories"]]
    meaningful = [c["compare"]["anxiety"]["meaningful"] for c in document["categories"]]
    assert list(table["anxiety_meaningful"]) == meaningful
    assert any(meaningful)


def test_csv_and_xlsx_exports_read_back(db, project, tmp_path):
    from transcode.cli import _register, app

    _register()
    runner = CliRunner()
    folder = tmp_path / "csv"
    result = runner.invoke(app, ["export", "--db", db, "--format", "csv", "--out", str(folder), "--json"])
    assert result.exit_code == 0, result.output
    counts = json.loads(result.stdout)["tables"]
    assert set(counts) == {
        "units",
        "codes",
        "decisions",
        "consensus",
        "core_ideas",
        "categories",
        "cross_analysis",
        "codebook_history",
    }
    assert counts["codebook_history"] == 1  # the demo's one version, given whole
    units = pd.read_csv(folder / "units.csv", dtype={"case": str})
    pd.testing.assert_frame_equal(units[["case", "unit", "text"]], project.units()[["case", "unit", "text"]])
    workbook = tmp_path / "tables.xlsx"
    result = runner.invoke(
        app, ["export", "--db", db, "--format", "xlsx", "--out", str(workbook), "--compare", "anxiety"]
    )
    assert result.exit_code == 0, result.output
    sheets = pd.read_excel(workbook, sheet_name=None)
    assert {name: len(frame) for name, frame in sheets.items()} == counts
    assert "anxiety_high_percent" in sheets["cross_analysis"].columns
    decisions = pd.read_csv(folder / "decisions.csv")
    assert pd.to_datetime(decisions["time"]).notna().all()


def test_open_missing_store_is_an_input_error(tmp_path):
    from transcode.errors import InputError

    with pytest.raises(InputError, match="no transcode store"):
        transcode.open(f"sqlite:///{tmp_path / 'absent.db'}")
