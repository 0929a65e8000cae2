"""``transcode cross``: contract JSON, every output format, --check, and every bad-input path."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import docx
import pytest
from typer.testing import CliRunner

import transcode.cli
from tests.support.cli import run_transcode
from transcode.cross.io import parse_compare, read_cases, read_memberships
from transcode.errors import InputError

DOMAIN = "Rupture Antecedents"
TENSE = "Session started in tense state"


@pytest.fixture(scope="module")
def app():
    transcode.cli._register()
    return transcode.cli.app


@pytest.fixture
def study(tmp_path):
    """The worked example: N = 14; anxiety high 5, low 5, mid 4."""
    cases = tmp_path / "cases.csv"
    ids = [f"{i:02d}" for i in range(1, 15)]
    with cases.open("w", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow(["case", "anxiety", "avoidance"])
        for case, anxiety, avoidance in zip(
            ids, ["high"] * 5 + ["low"] * 5 + ["mid"] * 4, ["hi", "lo"] * 7, strict=True
        ):
            writer.writerow([case, anxiety, avoidance])
    memberships = tmp_path / "memberships.csv"
    with memberships.open("w", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow(["case", "domain", "subdomain", "category", "subcategory"])
        for case in [ids[0], *ids[5:12], ids[5]]:  # 8 cases (one listed twice): 1 high, 5 low
            writer.writerow([case, DOMAIN, "", TENSE, ""])
        for case in ids[:13]:
            writer.writerow([case, DOMAIN, "", "Client withdrew", ""])
        for case in ids[:3]:
            writer.writerow([case, DOMAIN, "", "Client withdrew", "Silent"])
    return memberships, cases


def test_json_matches_the_contract_example(study):
    memberships, cases = study
    done = run_transcode("cross", str(memberships), "--cases", str(cases), "--compare", "anxiety", "--json")
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)
    assert document["n_cases"] == 14
    tense = next(r for r in document["categories"] if r["category"] == TENSE)
    assert {k: tense[k] for k in ("domain", "subdomain", "category", "count", "label")} == {
        "domain": DOMAIN,
        "subdomain": "",
        "category": TENSE,
        "count": 8,
        "label": "typical",
    }
    assert tense["compare"]["anxiety"]["high"] == {"n": 5, "count": 1, "percent": 20.0, "label": ""}
    assert tense["compare"]["anxiety"]["low"] == {"n": 5, "count": 5, "percent": 100.0, "label": "general"}
    assert tense["compare"]["anxiety"]["meaningful"] is True
    assert tense["compare"]["anxiety"]["higher"] == "low"
    assert [(r["category"], r["subcategory"]) for r in document["categories"]] == [
        ("Client withdrew", ""),
        ("Client withdrew", "Silent"),
        (TENSE, ""),
    ]
    assert "left out" in done.stderr  # warnings go to stderr, never into the JSON stream


def test_compare_with_named_values_and_markdown(app, study):
    memberships, cases = study
    result = CliRunner().invoke(
        app,
        [
            "cross",
            str(memberships),
            "--cases",
            str(cases),
            "--compare",
            "avoidance=hi:lo",
            "--format",
            "markdown",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "| avoidance: hi (n = 7) | avoidance: lo (n = 7) |" in result.stdout
    assert "| &nbsp;&nbsp;Client withdrew | G (13) | G (7) | T (6) |" in result.stdout
    assert "avoidance (hi vs lo): 0 meaningful differences" in result.stdout


def test_docx_holds_the_manuscript_table(app, study, tmp_path):
    memberships, cases = study
    out, chart = tmp_path / "table.docx", tmp_path / "chart.png"
    result = CliRunner().invoke(
        app,
        [
            "cross",
            str(memberships),
            "--cases",
            str(cases),
            "--compare",
            "anxiety",
            "--format",
            "docx",
            "--out",
            str(out),
            "--chart",
            str(chart),
        ],
    )
    assert result.exit_code == 0, result.output
    document = docx.Document(str(out))
    rows = [[cell.text for cell in row.cells] for row in document.tables[0].rows]
    assert rows[0] == ["Domain / category", "Total (N = 14)", "anxiety: high (n = 5)", "anxiety: low (n = 5)"]
    assert rows[1] == [DOMAIN] * 4  # the domain heading spans the row
    assert rows[2] == ["Client withdrew", "G (13)", "G (5)", "G (5)"]
    assert rows[3] == ["Silent", "V (3)", "T (3)*", "0"]
    assert rows[4] == [TENSE, "T (8)", "1", "G (5)*"]
    note = document.paragraphs[-1].text
    assert note.startswith("Note. N = 14. General (G) = 13\u201314 cases, typical (T) = 8\u201312 cases")
    assert "anxiety (high vs low): 2 meaningful differences (high higher in 1, low higher in 1)" in note
    assert chart.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_json_with_a_table_file_keeps_stdout_pure(app, study, tmp_path):
    memberships, cases = study
    out = tmp_path / "table.csv"
    result = CliRunner().invoke(
        app,
        [
            "cross",
            str(memberships),
            "--cases",
            str(cases),
            "--compare",
            "anxiety",
            "--json",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["n_cases"] == 14
    assert out.read_text().splitlines()[1] == f"{DOMAIN},,Client withdrew,,G (13),G (5),G (5)"


def test_check_passes_on_its_own_table_and_fails_on_a_planted_error(app, study, tmp_path):
    memberships, cases = study
    table = tmp_path / "table.csv"
    base = ["cross", str(memberships), "--cases", str(cases), "--compare", "anxiety"]
    assert CliRunner().invoke(app, [*base, "--out", str(table)]).exit_code == 0
    ok = CliRunner().invoke(app, [*base, "--check", str(table)])
    assert ok.exit_code == 0, ok.output
    assert "consistent with the rules and the data (3 rows)" in ok.stdout
    table.write_text(table.read_text().replace("T (8),1,G (5)*", "V (8),1,G (5)*"))
    bad = CliRunner().invoke(app, [*base, "--check", str(table), "--json"])
    assert bad.exit_code == 1
    report = json.loads(bad.stdout)["check"]
    assert report["consistent"] is False
    assert [(d["kind"], d["line"], d["expected"]) for d in report["disagreements"]] == [
        ("label", 4, "typical")
    ]


def test_custom_profile_from_a_bands_file(app, study, tmp_path):
    memberships, cases = study
    bands = tmp_path / "bands.yaml"
    bands.write_text("general: '>= 90%'\ntypical: '>= 50%'\nvariant: '>= 2'\n")
    result = CliRunner().invoke(
        app,
        [
            "cross",
            str(memberships),
            "--cases",
            str(cases),
            "--profile",
            "custom",
            "--bands",
            str(bands),
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["cutoffs"] == {"general": [13, 14], "typical": [7, 12], "variant": [2, 6]}
    assert document["profile"]["bands"]["typical"] == ">= 1/2"


def test_without_a_memberships_file_a_missing_store_is_a_clear_error(tmp_path: Path):
    missing = tmp_path / "missing.db"
    done = run_transcode("cross", "--json", "--db", f"sqlite:///{missing}")
    assert done.returncode == 2
    assert done.stdout == ""
    assert "no transcode store" in done.stderr and "transcode init" in done.stderr
    assert not missing.exists()
    assert len(done.stderr.strip().splitlines()) == 1


def _bad_inputs(tmp_path: Path, memberships: Path, cases: Path) -> dict[str, tuple[list[str], str]]:
    no_column = tmp_path / "no_column.csv"
    no_column.write_text("case,domain,category\n01,D,C\n")
    stranger = tmp_path / "stranger.csv"
    stranger.write_text("case,domain,subdomain,category\n01,D,,C\n99,D,,C\n")
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    binary = tmp_path / "binary.csv"
    binary.write_bytes(b"case,domain\n\xff\xfe\x00")
    m, c = str(memberships), str(cases)
    return {
        "missing column": ([str(no_column), "--cases", c], f"{no_column}:1: missing column(s) subdomain"),
        "unknown case": ([str(stranger), "--cases", c], f"{stranger}:3: case '99' is not in the cases file"),
        "empty memberships": ([str(empty), "--cases", c], f"{empty}: empty file"),
        "empty cases": ([m, "--cases", str(empty)], f"{empty}: empty file"),
        "not utf-8": ([str(binary), "--cases", c], f"{binary}: not UTF-8"),
        "no such attribute": (
            [m, "--cases", c, "--compare", "gender"],
            f"{cases}: no case attribute 'gender' to compare",
        ),
        "no such value": ([m, "--cases", c, "--compare", "anxiety=a:b"], f"{cases}: no case has anxiety = a"),
        "bad compare": ([m, "--cases", c, "--compare", "anxiety=high"], "--compare 'anxiety=high'"),
        "missing cases": ([m], f"{memberships}: --cases CASES.csv is required"),
        "docx to stdout": ([m, "--cases", c, "--format", "docx"], "--format docx needs --out"),
        "bad meaningful": ([m, "--cases", c, "--meaningful", "lots"], "--meaningful: not a proportion"),
        "bands without custom": ([m, "--cases", c, "--bands", c], "--bands goes with --profile custom"),
        "missing file": ([str(tmp_path / "nope.csv"), "--cases", c], "nope.csv: file not found"),
    }


def test_every_bad_input_exits_2_with_one_line_and_writes_nothing(study, tmp_path):
    memberships, cases = study
    out = tmp_path / "out" / "table.csv"
    out.parent.mkdir()
    for name, (args, message) in _bad_inputs(tmp_path, memberships, cases).items():
        with_out = args if "docx" in args else [*args, "--out", str(out)]  # docx is refused for want of --out
        done = run_transcode("cross", *with_out)
        assert done.returncode == 2, (name, done.stderr)
        assert message in done.stderr, (name, done.stderr)
        assert len(done.stderr.strip().splitlines()) == 1, (name, done.stderr)
        assert done.stdout == "" and not any(out.parent.iterdir()), name


def test_readers_name_file_and_line(study, tmp_path):
    memberships, cases = study
    table = read_cases(cases)
    twice = tmp_path / "twice.csv"
    twice.write_text("case,anxiety\n01,high\n01,low\n")
    with pytest.raises(InputError) as err:
        read_cases(twice)
    assert (err.value.path, err.value.line) == (str(twice), 3)
    blank = tmp_path / "blank.csv"
    blank.write_text("case,domain,subdomain,category\n01,D,,\n")
    with pytest.raises(InputError, match="empty category") as err:
        read_memberships(blank, table)
    assert err.value.line == 2
    wide = tmp_path / "wide.csv"
    wide.write_text("case,domain,subdomain,category\n01,D,,C,extra\n")
    with pytest.raises(InputError, match="5 fields but the header has 4"):
        read_memberships(wide, table)
    header_only = tmp_path / "header.csv"
    header_only.write_text("case,domain,subdomain,category\n")
    with pytest.raises(InputError, match="no memberships"):
        read_memberships(header_only, table)
    assert len(read_memberships(memberships, table)) == 25  # duplicates are kept; analysis counts them once
    assert parse_compare("Anxiety").groups == ("high", "low")
    assert parse_compare("age=young:old").attribute == "age"
