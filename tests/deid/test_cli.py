"""`transcode deid`: outputs, report, bad input, review decisions, the key file, and the demo corpus."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.support import REPO
from transcode.deid import Deidentifier
from transcode.deid.keyfile import read_key_file, reidentify
from transcode.errors import InputError
from transcode.ingest import read_transcript

PASSPHRASE = "correct horse battery"

TXT = """# case: 07
# interviewer: R2
# session date: 2024-03-14
I: Tell me about the client.
P: Her name is Jenny Morales. Jenny's mom called me at 555-123-4567, and she wrote from
   jenny.morales@example.org. Sam Ortiz, her brother, drove her to 12 Elm Street on March 3rd.
I: And then?
P: I told jenny about the Bakery on Tuesday. My supervisor, Dr. Patel, said I hope it helps.
"""
ORIGINALS = (
    "Jenny",
    "Morales",
    "555-123-4567",
    "jenny.morales@example.org",
    "Sam",
    "Ortiz",
    "12 Elm Street",
    "March 3rd",
    "Patel",
    "2024-03-14",
)


@pytest.fixture(scope="module")
def cli():
    import transcode.cli

    if not any(c.name == "deid" for c in transcode.cli.app.registered_commands):
        transcode.cli._register()
    runner = CliRunner()

    def run(*args: str, input: str | None = None, env: dict | None = None):
        return runner.invoke(
            transcode.cli.app, [str(a) for a in args], input=input, env=env, catch_exceptions=False
        )

    return run


def run_main(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    """The real entry point, for exit codes and the one-line error."""
    environment = {**os.environ, "PYTHONPATH": str(REPO), **(env or {})}
    return subprocess.run(
        [sys.executable, "-c", "from transcode.cli import main; main()", *map(str, args)],
        capture_output=True,
        text=True,
        env=environment,
        cwd=REPO,
        timeout=120,
    )


@pytest.fixture()
def inputs(tmp_path: Path) -> Path:
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "case_07.txt").write_text(TXT, encoding="utf-8")
    (folder / "case_08.csv").write_text(
        'speaker,text\nI,How was it?\nP,"Tariq came in, and tariq\'s dad Samir called from Port Calder."\n',
        encoding="utf-8",
    )
    (folder / "case_09.vtt").write_text(
        "WEBVTT\n\n00:00:01.000 --> 00:00:04.000\n<v I>Who referred him?\n\n"
        "00:00:04.000 --> 00:00:09.000\n<v P>Leila Haddad did, from leila.h@outlook.com.\n",
        encoding="utf-8",
    )
    (folder / "names.txt").write_text("Jenny Morales\nSam Ortiz\n", encoding="utf-8")
    return folder


def written_files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_writes_each_file_in_its_format_with_a_report(cli, inputs, tmp_path):
    out = tmp_path / "out"
    files = [inputs / "case_07.txt", inputs / "case_08.csv", inputs / "case_09.vtt"]
    result = cli("deid", *files, "--out", out, "--names", inputs / "names.txt", "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert [f["file"] for f in summary["files"]] == ["case_07.txt", "case_08.csv", "case_09.vtt"]
    assert written_files(out) == ["case_07.txt", "case_08.csv", "case_09.vtt", "deid-report.json"]
    report_text = (out / "deid-report.json").read_text(encoding="utf-8")
    report = json.loads(report_text)
    for entry in report["files"]:
        text = (out / entry["file"]).read_text(encoding="utf-8")
        assert entry["replacements"]
        for r in entry["replacements"]:
            assert text[r["start"] : r["end"]] == r["placeholder"]
            assert re.fullmatch(r"\[[A-Z]+_\d+\]", r["placeholder"])
            assert r["type"] in r["placeholder"]
            assert text.splitlines()[r["line"] - 1].count(r["placeholder"])
    everything = report_text + "".join((out / n).read_text(encoding="utf-8") for n in written_files(out))
    for original in (
        *ORIGINALS,
        "Tariq",
        "tariq",
        "Samir",
        "Port Calder",
        "Leila",
        "Haddad",
        "leila.h@outlook.com",
    ):
        assert not re.search(r"(?<!\w)" + re.escape(original) + r"(?!\w)", everything), original
    clean = read_transcript(out / "case_07.txt")
    assert clean.case == "07" and [t.label for t in clean.turns] == ["I", "P", "I", "P"]
    assert "My supervisor, Dr. [PERSON_" in clean.turns[3].text and "on Tuesday" in clean.turns[3].text
    assert clean.metadata["interviewer"] == "R2"


@pytest.mark.parametrize("case", ["empty", "binary", "missing names", "malformed names", "short passphrase"])
def test_bad_input_exits_2_and_writes_nothing(case, inputs, tmp_path):
    out = tmp_path / "out"
    args: list = [inputs / "case_07.txt", "--out", out]
    env = {}
    if case == "empty":
        (inputs / "empty.txt").write_text("", encoding="utf-8")
        args = [inputs / "case_07.txt", inputs / "empty.txt", "--out", out]
    elif case == "binary":
        (inputs / "blob.txt").write_bytes(b"P: hello\x00\xff\xfe")
        args = [inputs / "case_07.txt", inputs / "blob.txt", "--out", out]
    elif case == "missing names":
        args += ["--names", inputs / "nope.txt"]
    elif case == "malformed names":
        (inputs / "bad_names.txt").write_text("Jenny\n12345\n", encoding="utf-8")
        args += ["--names", inputs / "bad_names.txt"]
    else:
        args += ["--key", tmp_path / "key.json"]
        env = {"TRANSCODE_KEY_PASSPHRASE": "short"}
    done = run_main("deid", *args, env=env)
    assert done.returncode == 2, done.stderr
    assert done.stdout == ""
    assert len(done.stderr.strip().splitlines()) == 1 and "error" in done.stderr
    assert not out.exists() and not (tmp_path / "key.json").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["in"]


def test_review_records_restore_and_add_and_replays_them(cli, inputs, tmp_path):
    out = tmp_path / "out"
    source = inputs / "case_07.txt"
    # One answer per placeholder, in order of first appearance (as the library previews them),
    # then one missed span and its type, then an empty line to finish.
    preview = Deidentifier(["Jenny Morales", "Sam Ortiz"]).deidentify(read_transcript(source))
    groups = list(preview.mapping().items())
    assert any("Sam Ortiz" in values for _, values in groups)
    answers = ["r" if "Sam Ortiz" in values else "a" for _, values in groups]
    result = cli(
        "deid",
        source,
        "--out",
        out,
        "--names",
        inputs / "names.txt",
        "--review",
        "--json",
        input="\n".join([*answers, "Tuesday", "date", ""]) + "\n",
    )
    assert result.exit_code == 0, result.output
    assert "Replacements in case_07.txt" in result.stderr and "Jenny" in result.stderr
    summary = json.loads(result.stdout)
    assert summary["decisions"] == str(out / "deid-decisions.json")
    text = (out / "case_07.txt").read_text(encoding="utf-8")
    assert "Sam Ortiz" in text and "Tuesday" not in text and "Jenny" not in text
    decisions_text = (out / "deid-decisions.json").read_text(encoding="utf-8")
    for original in ("Jenny", "Morales", "Tuesday", "555-123-4567", "Patel"):
        assert original not in decisions_text
    records = json.loads(decisions_text)["files"]["case_07.txt"]
    assert {r["action"] for r in records} == {"accept", "restore", "add"}
    added = next(r for r in records if r["action"] == "add")
    assert added["type"] == "DATE" and text.count(added["placeholder"]) == 1
    turn_text = read_transcript(out / "case_07.txt").turns[int(added["where"].split(":")[1])].text
    assert turn_text[added["start_out"] : added["end_out"]] == added["placeholder"]
    restored = [r for r in records if r["action"] == "restore"]
    assert restored and all(r["placeholder"] is None for r in restored)

    again = tmp_path / "again"
    replay = cli(
        "deid",
        source,
        "--out",
        again,
        "--names",
        inputs / "names.txt",
        "--decisions",
        out / "deid-decisions.json",
    )
    assert replay.exit_code == 0, replay.output
    assert (again / "case_07.txt").read_text(encoding="utf-8") == text


def test_key_file_round_trip_restores_the_original_transcript(cli, inputs, tmp_path):
    out, key = tmp_path / "out", tmp_path / "secret" / "key.json"
    key.parent.mkdir()
    files = [inputs / "case_07.txt", inputs / "case_08.csv"]
    result = cli(
        "deid",
        *files,
        "--out",
        out,
        "--names",
        inputs / "names.txt",
        "--key",
        key,
        env={"TRANSCODE_KEY_PASSPHRASE": PASSPHRASE},
    )
    assert result.exit_code == 0, result.output
    raw = key.read_text(encoding="utf-8")
    assert all(original not in raw for original in ORIGINALS)
    mapping = read_key_file(key, PASSPHRASE)["files"]
    assert "Jenny Morales" in mapping["case_07.txt"]["placeholders"]["[PERSON_1]"]
    for name in ("case_07.txt", "case_08.csv"):
        restored = reidentify(read_transcript(out / name), mapping[name])
        original = read_transcript(inputs / name)
        assert [t.text for t in restored.turns] == [t.text for t in original.turns]
        assert restored.metadata == original.metadata
    with pytest.raises(InputError, match="wrong passphrase"):
        read_key_file(key, "not the passphrase")


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Path:
    """The demo corpus built from its sources into a temporary folder (the repository stays untouched)."""
    source = REPO / "corpora" / "demo"
    if not any(source.glob("source/case_*.yaml")):
        pytest.skip("demo corpus sources are not there")
    demo = tmp_path_factory.mktemp("corpus") / "demo"
    shutil.copytree(source, demo, ignore=shutil.ignore_patterns("case_*.txt", "gold"))
    built = subprocess.run(
        [sys.executable, str(demo / "build_demo.py")], capture_output=True, text=True, timeout=120
    )
    if built.returncode != 0:
        pytest.skip(f"demo corpus does not build right now: {built.stderr.strip()[-200:]}")
    return demo


def planted(demo: Path) -> list[dict]:
    return [json.loads(line) for line in (demo / "gold" / "identifiers.jsonl").read_text().splitlines()]


def left_behind(gold: list[dict], text_of_case) -> list[tuple[str, str, str]]:
    return [
        (g["case"], g["type"], g["text"])
        for g in gold
        if re.search(r"(?<!\w)" + re.escape(g["text"]) + r"(?!\w)", text_of_case(g["case"]))
    ]


def test_demo_corpus_never_leaves_a_planted_identifier(cli, demo, tmp_path):
    cases = sorted(demo.glob("case_*.txt"))
    out = tmp_path / "out"
    result = cli("deid", *cases, "--out", out)
    assert result.exit_code == 0, result.output
    gold = planted(demo)
    assert gold
    assert left_behind(gold, lambda case: (out / f"case_{case}.txt").read_text(encoding="utf-8")) == []


def test_precode_units_never_carry_a_planted_identifier(demo):
    """The de-identify + split stage of ``transcode precode``: unit texts and their questions."""
    from transcode.pipeline import prepare

    prepared = prepare([read_transcript(p) for p in sorted(demo.glob("case_*.txt"))])
    texts = {c.transcript.case: "\n".join(f"{u.text}\n{u.question or ''}" for u in c.units) for c in prepared}
    assert all(texts.values())
    assert left_behind(planted(demo), lambda case: texts[case]) == []
