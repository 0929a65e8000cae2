"""``transcode agree``: both contract outputs, the extra outputs, and every bad-input path.

Most calls go through ``transcode.cli.main`` in-process (the real entry point,
so InputError becomes one stderr line and exit 2); two run a real subprocess.
"""

from __future__ import annotations

import json
import sys

import pytest

from tests.support.cli import run_transcode
from tests.support.reference import KRIPPENDORFF_2011
from transcode.cli import main

RATINGS = """unit,judge,code
07-0001,A,antecedents
07-0001,B,antecedents
07-0002,A,antecedents
07-0002,A,consequences
07-0002,B,consequences
07-0003,A,
07-0003,B,
08-0001,A,consequences
08-0001,B,consequences
08-0002,A,antecedents
08-0002,B,
"""


def values_csv(matrix: list[list], judges: str = "ABCD") -> str:
    lines = ["unit,judge,value"]
    for i, row in enumerate(matrix, start=1):
        lines += [
            f"u{i},{judge},{value}" for judge, value in zip(judges, row, strict=False) if value is not None
        ]
    return "\n".join(lines) + "\n"


def run(monkeypatch, capsys, *args: str) -> tuple[int, str, str]:
    """Run the real CLI entry point in-process: (exit code, stdout, stderr)."""
    monkeypatch.setattr(sys, "argv", ["transcode", *args])
    try:
        main()
        code = 0
    except SystemExit as done:
        code = done.code if isinstance(done.code, int) else 1
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture
def files(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)

    def write(name: str, text: str | bytes) -> str:
        path = tmp_path / name
        path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
        return str(path)

    return write


def test_ratings_json_is_the_contract_document(files, monkeypatch, capsys) -> None:
    code, out, _ = run(monkeypatch, capsys, "agree", files("r.csv", RATINGS), "--json", "--resamples", "200")
    assert code == 0
    report = json.loads(out)
    assert (report["n_units"], report["n_judges"], report["multi_label"]) == (5, 2, True)
    assert report["overall"]["alpha_distance"] == "masi"
    assert set(report["per_code"]) == {"antecedents", "consequences"}
    assert {
        "percent_agreement",
        "cohen_kappa",
        "fleiss_kappa",
        "krippendorff_alpha",
        "gwet_ac1",
        "prevalence",
    } == set(report["per_code"]["antecedents"])
    assert report["pairs"][0]["judges"] == ["A", "B"]
    assert report["per_code"]["antecedents"]["prevalence"] == pytest.approx(4 / 10)
    assert set(report["per_case"]) == {"07", "08"}


@pytest.mark.parametrize(
    ("level", "expected"),
    [
        ("nominal", 0.743421052631579),
        ("ordinal", 0.8153875037548814),
        ("interval", 0.8491071428571428),
        ("ratio", 0.7974027747116121),
    ],
)
def test_values_coefficient_json(files, monkeypatch, capsys, level, expected) -> None:
    path = files("v.csv", values_csv(KRIPPENDORFF_2011))
    code, out, _ = run(
        monkeypatch, capsys, "agree", path, "--coefficient", "krippendorff_alpha", "--level", level, "--json"
    )
    assert code == 0
    document = json.loads(out)
    assert document["coefficient"] == "krippendorff_alpha" and document["level"] == level
    assert document["value"] == pytest.approx(expected, abs=1e-9)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("percent_agreement", 0.818),
        ("fleiss_kappa", 0.761),
        ("gwet_ac1", 0.775),
        ("krippendorff_alpha", 0.743),
    ],
)
def test_values_each_multi_judge_coefficient(files, monkeypatch, capsys, name, expected) -> None:
    path = files("v.csv", values_csv(KRIPPENDORFF_2011))
    code, out, _ = run(monkeypatch, capsys, "agree", path, "--coefficient", name, "--json")
    assert code == 0
    document = json.loads(out)
    assert document["level"] == "nominal"
    assert document["value"] == pytest.approx(expected, abs=5e-4)  # Gwet (2014) / Krippendorff (2011)


@pytest.mark.parametrize(("name", "expected"), [("cohen_kappa", 0.492), ("scott_pi", 0.4872)])
def test_values_two_judge_coefficients(files, monkeypatch, capsys, name, expected) -> None:
    # Cohen (1960) p.45 table: kappa .492; Scott's pi .4872 (dkpro Gwet2008Test).
    table = [[88, 14, 18], [10, 40, 10], [2, 6, 12]]
    rows = [[i + 1, j + 1] for i, row in enumerate(table) for j, n in enumerate(row) for _ in range(n)]
    code, out, _ = run(
        monkeypatch, capsys, "agree", files("v.csv", values_csv(rows, "AB")), "--coefficient", name, "--json"
    )
    assert code == 0
    assert json.loads(out)["value"] == pytest.approx(expected, abs=5e-4)


def test_undefined_value_is_null_not_an_error(files, monkeypatch, capsys) -> None:
    path = files("v.csv", "unit,judge,value\nu1,A,x\nu1,B,x\nu2,A,x\nu2,B,x\n")
    code, out, _ = run(monkeypatch, capsys, "agree", path, "--coefficient", "cohen_kappa", "--json")
    assert code == 0
    document = json.loads(out)
    assert document["value"] is None and document["reason"]


def test_csv_and_report_outputs(files, tmp_path, monkeypatch, capsys) -> None:
    code, out, err = run(
        monkeypatch,
        capsys,
        "agree",
        files("r.csv", RATINGS),
        "--csv",
        "out.csv",
        "--report",
        "out.html",
        "--resamples",
        "100",
    )
    assert code == 0
    assert "Per code" in out and "wrote out.csv" in err
    assert (tmp_path / "out.csv").read_text().startswith("scope,item,coefficient,value,ci_low,ci_high\n")
    assert "data:image/png;base64," in (tmp_path / "out.html").read_text()
    code, _, _ = run(monkeypatch, capsys, "agree", "r.csv", "--report", "out.md", "--resamples", "0")
    assert code == 0 and (tmp_path / "out_plots" / "per_code_alpha.png").exists()


BAD_INPUTS = [
    # (name, file text, extra arguments, expected fragment of the error, expected line or None)
    ("empty", "", [], "empty file", None),
    ("header only", "unit,judge,code\n", [], "no rows after the header", None),
    ("missing column", "unit,judge\nu1,A\n", [], "missing column(s) code", 1),
    ("values file without --coefficient", "unit,judge,value\nu1,A,1\nu1,B,1\n", [], "needs --coefficient", 1),
    (
        "ratings file with --coefficient",
        RATINGS,
        ["--coefficient", "fleiss_kappa"],
        "missing column(s) value",
        1,
    ),
    ("one judge", "unit,judge,code\nu1,A,x\nu2,A,y\n", [], "at least two judges", None),
    ("duplicate rating row", "unit,judge,code\nu1,A,x\nu1,B,x\nu1,A,x\n", [], "duplicate rating", 4),
    ("no code and a code", "unit,judge,code\nu1,A,\nu1,B,x\nu1,A,x\n", [], "no code", 4),
    ("ragged row", "unit,judge,code\nu1,A,x,extra\n", [], "expected 3 fields", 2),
    ("missing judge", "unit,judge,code\nu1,,x\nu1,B,x\n", [], "needs a unit and a judge", 2),
    ("not utf-8", b"unit,judge,code\nu1,A,\xff\xfe\n", [], "not UTF-8", None),
    (
        "duplicate value row",
        "unit,judge,value\nu1,A,1\nu1,B,2\nu1,A,1\n",
        ["--coefficient", "fleiss_kappa"],
        "duplicate row",
        4,
    ),
    (
        "two values",
        "unit,judge,value\nu1,A,1\nu1,B,2\nu1,A,3\n",
        ["--coefficient", "fleiss_kappa"],
        "has two values",
        4,
    ),
    (
        "non-numeric interval",
        "unit,judge,value\nu1,A,1\nu1,B,high\n",
        ["--coefficient", "krippendorff_alpha", "--level", "interval"],
        "needs numeric values",
        3,
    ),
    (
        "non-numeric ratio",
        "unit,judge,value\nu1,A,low\nu1,B,2\n",
        ["--coefficient", "krippendorff_alpha", "--level", "ratio"],
        "needs numeric values",
        2,
    ),
    (
        "one judge in values",
        "unit,judge,value\nu1,A,1\nu2,A,2\n",
        ["--coefficient", "fleiss_kappa"],
        "at least two judges",
        None,
    ),
    (
        "cohen on three judges",
        "unit,judge,value\nu1,A,1\nu1,B,1\nu1,C,2\n",
        ["--coefficient", "cohen_kappa"],
        "exactly two judges",
        None,
    ),
    (
        "unknown coefficient",
        "unit,judge,value\nu1,A,1\nu1,B,1\n",
        ["--coefficient", "bogus"],
        "unknown --coefficient",
        None,
    ),
    (
        "unknown level",
        "unit,judge,value\nu1,A,1\nu1,B,1\n",
        ["--coefficient", "krippendorff_alpha", "--level", "cardinal"],
        "unknown --level",
        None,
    ),
    (
        "level for a nominal-only coefficient",
        "unit,judge,value\nu1,A,1\nu1,B,1\n",
        ["--coefficient", "fleiss_kappa", "--level", "interval"],
        "krippendorff_alpha only",
        None,
    ),
    ("level without coefficient", RATINGS, ["--level", "interval"], "--level goes with --coefficient", None),
    ("report suffix", RATINGS, ["--report", "out.pdf"], "must end in .html or .md", None),
]


@pytest.mark.parametrize(
    ("text", "extra", "fragment", "line"),
    [case[1:] for case in BAD_INPUTS],
    ids=[case[0] for case in BAD_INPUTS],
)
def test_bad_input_is_one_line_and_exit_2(files, tmp_path, monkeypatch, capsys, text, extra, fragment, line):
    path = files("input.csv", text)
    code, out, err = run(monkeypatch, capsys, "agree", path, *extra, *([] if extra else ["--csv", "out.csv"]))
    assert code == 2
    assert out == ""
    assert len(err.strip().splitlines()) == 1, err
    assert fragment in err
    assert "input.csv" in err or "out.pdf" in err  # the error names the file
    if line is not None:
        assert f"input.csv:{line}:" in err
    assert not (tmp_path / "out.csv").exists()  # nothing half-written


def test_missing_file_is_reported(monkeypatch, capsys, tmp_path) -> None:
    code, out, err = run(monkeypatch, capsys, "agree", str(tmp_path / "absent.csv"), "--json")
    assert code == 2 and out == "" and "absent.csv" in err


def test_without_a_file_the_report_reads_the_judges_codes_in_the_store(monkeypatch, capsys, tmp_path) -> None:
    from tests.support.stores import build_store, open_phase
    from transcode.coding.codes import Decision
    from transcode.coding.independent import record_decisions

    url = f"sqlite:///{tmp_path / 'store.db'}"
    store = build_store(url)
    keys = [unit.key for unit in store.units()][:4]
    for judge, domains in {"A": ["antecedents"] * 4, "B": ["antecedents"] * 3 + [None]}.items():
        for key, domain in zip(keys, domains, strict=True):
            record_decisions(store, judge, key, [Decision(domain, "added" if domain else "other")])
    open_phase(store, "consensus")
    store.close()
    code, out, err = run(monkeypatch, capsys, "agree", "--db", url, "--json", "--resamples", "0")
    assert code == 0, err
    report = json.loads(out)
    assert report["judges"] == ["A", "B"] and report["n_units"] == 4
    assert report["pairs"][0]["percent_agreement"] == pytest.approx(3 / 4)
    assert report["calibration"]["01"]["n_units"] == 4 and report["withheld_cases"] == []


def test_a_store_nobody_has_coded_in_is_a_clear_error(monkeypatch, capsys, tmp_path) -> None:
    from tests.support.stores import build_store

    url = f"sqlite:///{tmp_path / 'store.db'}"
    build_store(url).close()
    code, out, err = run(monkeypatch, capsys, "agree", "--db", url, "--json")
    assert code == 2 and out == ""
    assert "no judge has coded" in err and len(err.strip().splitlines()) == 1


def test_real_process_prints_only_json_on_stdout(files, tmp_path) -> None:
    files("v.csv", values_csv(KRIPPENDORFF_2011))
    done = run_transcode(
        "agree", "v.csv", "--coefficient", "krippendorff_alpha", "--level", "interval", "--json", cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {
        "coefficient": "krippendorff_alpha",
        "level": "interval",
        "value": pytest.approx(0.849, abs=5e-4),
        "n_units": 12,
        "n_judges": 4,
    }


def test_real_process_bad_input_exits_2(files, tmp_path) -> None:
    files("r.csv", "unit,judge,code\nu1,A,x\nu2,A,y\n")
    done = run_transcode("agree", "r.csv", "--json", cwd=tmp_path)
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.strip().count("\n") == 0 and "r.csv" in done.stderr
