"""What the commands write (issue 14): private files, nothing half-written on a full disk, the key
never lost, spreadsheets that show formulas instead of running them, names shown as text."""

from __future__ import annotations

import csv
import json
import os
import resource
import signal
import stat
import subprocess
import sys

import pytest

from tests.support import DEMO, REPO, demo_transcripts
from tests.support.hostile import GOOD_CODEBOOK
from tests.support.stores import build_small_store
from tests.support.tui import SIZE, screen_text, settle
from transcode.cli import run
from transcode.deid.keyfile import read_key_file
from transcode.store import open_store
from transcode.transcript import Transcript, Turn
from transcode.units import ThoughtUnit

PASSPHRASE = "correct horse battery"


def mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def umask_022():
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def transcode_limited(*args, limit: int, env: dict | None = None) -> subprocess.CompletedProcess:
    """The command in its own process, where no file may grow past ``limit`` bytes (a full disk)."""

    def cannot_grow_files():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # the write fails (EFBIG) instead of killing
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return subprocess.run(
        [sys.executable, "-m", "transcode", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=300,
        preexec_fn=cannot_grow_files,
        stdin=subprocess.DEVNULL,
        env={**os.environ, "PYTHONPATH": str(REPO), "PYTHONDONTWRITEBYTECODE": "1", **(env or {})},
    )


def files_under(folder) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture
def small_store(tmp_path, demo_codebook):
    url = f"sqlite:///{tmp_path / 'store.db'}"
    build_small_store(url, demo_codebook).close()
    return url


def test_a_full_disk_leaves_the_old_file_and_no_temporary(tmp_path):
    memberships, cases = tmp_path / "m.csv", tmp_path / "cases.csv"
    memberships.write_text("case,domain,subdomain,category\n01,d,,c\n02,d,,c\n")
    cases.write_text("case\n01\n02\n")
    out = tmp_path / "out"
    out.mkdir()
    (out / "chart.png").write_bytes(b"last week's chart")
    before = files_under(tmp_path)
    done = transcode_limited("cross", memberships, "--cases", cases, "--chart", out / "chart.png", limit=2048)
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"transcode: error: {out / 'chart.png'}: cannot write")
    assert files_under(tmp_path) == before


def test_a_full_disk_during_precode_leaves_the_old_proposals(tmp_path):
    out = tmp_path / "proposals.jsonl"
    out.write_text('{"earlier": "run"}\n')
    args = ["precode", demo_transcripts()[0], "--codebook", DEMO / "codebook.yaml", "--out", out, "--fast"]
    done = transcode_limited(*args, limit=4096)
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip().splitlines()[-1].startswith(f"transcode: error: {out}: cannot write")
    assert "Traceback" not in done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["proposals.jsonl"]
    assert out.read_text() == '{"earlier": "run"}\n'


def test_a_full_disk_during_deid_leaves_nothing_and_loses_no_key(tmp_path):
    transcripts = demo_transcripts()[:2]
    out, key = tmp_path / "deid", tmp_path / "study.key"
    env = {"TRANSCODE_KEY_PASSPHRASE": PASSPHRASE}
    done = transcode_limited(
        "deid", *transcripts, "--out", out, "--key", key, "--no-presidio", limit=4096, env=env
    )
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip().splitlines()[-1].startswith("transcode: error: ")
    assert "Traceback" not in done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # no outputs, no key, no staging folder


def test_deid_writes_private_outputs_and_a_key_that_reads_back(tmp_path, umask_022, capsys):
    transcripts = demo_transcripts()[:1]
    out, key = tmp_path / "deid", tmp_path / "study.key"
    args = ["deid", *map(str, transcripts), "--out", str(out), "--key", str(key), "--no-presidio"]
    assert run([*args, "--key-passphrase", PASSPHRASE]) == 0
    assert mode(out) == 0o700 and {mode(p) for p in out.iterdir()} == {0o600} and mode(key) == 0o600
    envelope = json.loads(key.read_text())
    assert envelope["kdf"]["n"] == 2**17  # OWASP's floor for scrypt
    mapping = read_key_file(key, PASSPHRASE)["files"][transcripts[0].name]["placeholders"]
    capsys.readouterr()
    assert run(["deid", "key", "show", str(key), "--key-passphrase", PASSPHRASE, "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["files"][transcripts[0].name]["placeholders"] == mapping and mapping


def test_without_a_passphrase_or_a_terminal_deid_key_stops_before_the_work(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "TRANSCODE_KEY_PASSPHRASE"}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "transcode",
            "deid",
            str(demo_transcripts()[0]),
            "--out",
            str(tmp_path / "d"),
            "--key",
            str(tmp_path / "k.key"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
        start_new_session=True,  # no controlling terminal: getpass has nowhere to ask
        env={**env, "PYTHONPATH": str(REPO)},
    )
    assert done.returncode == 2
    assert done.stderr.strip() == (
        f"transcode: error: {tmp_path / 'k.key'}: --key needs a passphrase: --key-passphrase, the "
        "TRANSCODE_KEY_PASSPHRASE environment variable, or a terminal to type it at"
    )
    assert list(tmp_path.iterdir()) == []


def test_exports_are_private(tmp_path, small_store, umask_022, capsys):
    for fmt, target in (("xlsx", "t.xlsx"), ("csv", "tables"), ("qdpx", "p.qdpx"), ("qdc", "c.qdc")):
        assert run(["export", "--db", small_store, "--format", fmt, "--out", str(tmp_path / target)]) == 0
    assert {mode(tmp_path / name) for name in ("t.xlsx", "p.qdpx", "c.qdc")} == {0o600}
    assert mode(tmp_path / "tables") == 0o700
    assert {mode(p) for p in (tmp_path / "tables").iterdir()} == {0o600}


def test_the_embedding_cache_is_private(tmp_path, umask_022):
    from transcode.embed import EmbeddingCache

    cache = EmbeddingCache(tmp_path / "cache" / "embeddings.sqlite")
    cache.close()
    assert mode(tmp_path / "cache") == 0o700 and mode(tmp_path / "cache" / "embeddings.sqlite") == 0o600


FORMULAS = ['=HYPERLINK("http://evil.example","click")', "+1+cmd|' /C calc'!A0", "-2+3", "@SUM(A1)"]


def _store_with_formulas(tmp_path, codebook) -> str:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    store = open_store(url, create=True)
    store.save_codebook(codebook)
    text = " ".join(FORMULAS)
    turns = (Turn("interviewer", "I", "=1+1", 1), Turn("participant", "P", text, 2))
    units, start = [], 0
    for index, formula in enumerate(FORMULAS, start=1):
        units.append(ThoughtUnit("c1", index, 2, start, start + len(formula), formula, "=1+1"))
        start += len(formula) + 1
    store.import_cases(
        [(Transcript("c1", turns, source="c1.txt"), units)],
        attributes={"c1": {"=cmd": "=2+2", "anxiety": "-0.5"}},
    )
    store.close()
    return url


def test_formulas_in_the_data_are_text_in_excel_and_csv(tmp_path, demo_codebook):
    import openpyxl

    url = _store_with_formulas(tmp_path, demo_codebook)
    assert run(["export", "--db", url, "--format", "xlsx", "--out", str(tmp_path / "t.xlsx")]) == 0
    sheet = openpyxl.load_workbook(tmp_path / "t.xlsx")["units"]
    cells = [cell for row in sheet.iter_rows() for cell in row]
    assert not [c.coordinate for c in cells if c.data_type == "f"]  # nothing runs
    assert set(FORMULAS) <= {c.value for c in cells}  # and nothing was altered
    assert run(["export", "--db", url, "--format", "csv", "--out", str(tmp_path / "tables")]) == 0
    with open(tmp_path / "tables" / "units.csv", encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh))
    values = {v for row in rows for v in row}
    for formula in FORMULAS:
        assert ("'" + formula) in values or formula == "-2+3" and "'-2+3" in values
    assert "-0.5" in values  # a number stays a number
    assert "'=cmd" in rows[0]


def test_a_cross_table_csv_with_formula_like_names_checks_against_itself(tmp_path):
    memberships = tmp_path / "m.csv"
    memberships.write_text("case,domain,subdomain,category\n01,=d,,+cat\n02,=d,,+cat\n")
    cases = tmp_path / "cases.csv"
    cases.write_text("case\n01\n02\n")
    table = tmp_path / "table.csv"
    assert run(["cross", str(memberships), "--cases", str(cases), "--out", str(table)]) == 0
    assert "'=d" in table.read_text() and "'+cat" in table.read_text()
    assert run(["cross", str(memberships), "--cases", str(cases), "--check", str(table)]) == 0


def test_names_with_markup_are_shown_as_text(tmp_path, capsys):
    url = f"sqlite:///{tmp_path / 'store.db'}"
    codebook = tmp_path / "cb.yaml"
    codebook.write_text(GOOD_CODEBOOK)
    transcript = tmp_path / "t.txt"
    transcript.write_text("# case: [/]\nI: How was it?\nP: [bold]Fine[/bold], I think.\n")
    assert run(["init", "--db", url, "--name", "[/] study", "--codebook", str(codebook)]) == 0
    assert run(["import", str(transcript), "--db", url]) == 0
    assert run(["status", "--db", url]) == 0
    assert "[/] study" in capsys.readouterr().out


@pytest.mark.anyio
async def test_the_coding_room_shows_markup_in_names_as_text(tmp_path):
    from tests.support.stores import LEAD, build_store
    from transcode.coding import people
    from transcode.tui.app import TranscodeApp

    store = build_store(f"sqlite:///{tmp_path / 'store.db'}")
    text = "It was [red]fine[/]."
    turns = (Turn("interviewer", "I", "[/]?", 1), Turn("participant", "P", text, 2))
    unit = ThoughtUnit("[/]", 1, 2, 0, len(text), text, "[/]?")
    store.import_cases([(Transcript("[/]", turns, source="x.txt"), [unit])])
    people.add_person(store, "[/]judge", "judge")
    people.assign(store, ["[/]judge"], ["[/]"], LEAD)
    app = TranscodeApp(store, judge="[/]judge", case="[/]", use_model=False)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        shown = screen_text(app)
    store.close()
    assert "[/]judge · case [/]" in shown and "[red]fine[/]" in shown
