"""`transcode precode`, `train` and `evaluate` end to end, through the real CLI."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest
import yaml
from typer.testing import CliRunner

from tests.support import DEMO
from transcode.cli import _register, app

TRANSCRIPT = """# case: 42
I: Tell me a little about the client you have in mind.
P: She was a graduate student in her twenties. She came to the clinic in March because of panic attacks.
I: How did you feel when it happened?
P: I felt anxious and guilty, honestly. My face went hot and I wanted the session to end.
   Then I started doubting whether I should be a therapist at all.
I: Did you talk about this in supervision?
P: Yes, my supervisor watched the video with me. We role-played what I could say next time.
"""


@pytest.fixture(scope="module")
def runner():
    _register()
    return CliRunner()


@pytest.fixture()
def cache_env(encoder, monkeypatch):
    """Point the CLI's embedding cache at the test session's cache."""
    monkeypatch.setenv("TRANSCODE_CACHE", str(encoder.cache.path.parent))
    import transcode.embed

    monkeypatch.setattr(transcode.embed, "DEFAULT_CACHE_DIR", encoder.cache.path.parent)


@pytest.fixture(scope="module")
def small_gold(tmp_path_factory):
    """Three demo cases' gold units and transcripts, so cross-validation stays quick."""
    gold = DEMO / "gold" / "units.jsonl"
    if not gold.is_file():
        pytest.skip("demo gold not built")
    rows = [json.loads(line) for line in gold.read_text().splitlines() if line.strip()]
    cases = sorted({r["case"] for r in rows})[:3]
    root = tmp_path_factory.mktemp("gold")
    (root / "gold").mkdir()
    (root / "gold" / "units.jsonl").write_text(
        "".join(json.dumps(r) + "\n" for r in rows if r["case"] in cases and int(r["turn"]) <= 30)
    )
    for case in cases:
        shutil.copy(DEMO / f"case_{case}.txt", root / f"case_{case}.txt")
    return root / "gold" / "units.jsonl"


def test_precode_writes_a_contract_line_for_every_participant_unit(runner, tmp_path, cache_env):
    source = tmp_path / "case_42.txt"
    source.write_text(TRANSCRIPT)
    out = tmp_path / "proposals.jsonl"
    result = runner.invoke(
        app, ["precode", str(source), "--codebook", str(DEMO / "codebook.yaml"), "--out", str(out), "--json"]
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert summary["units"] == len(lines) >= 4
    domains = {d["id"] for d in yaml.safe_load((DEMO / "codebook.yaml").read_text())["domains"]}
    for record in lines:
        assert set(record) >= {"case", "unit", "text", "turn", "question", "proposals", "suggested"}
        assert record["case"] == "42"
        assert {p["domain"] for p in record["proposals"]} == domains
        assert set(record["suggested"]) <= domains
    assert lines[0]["proposals"][0]["domain"] == "client_context"
    assert any(r["proposals"][0]["domain"] == "supervision" for r in lines)
    assert [r["turn"] for r in lines] == sorted(r["turn"] for r in lines)


def test_precode_fast_tier_and_bad_model_name(runner, tmp_path):
    source = tmp_path / "case_42.txt"
    source.write_text(TRANSCRIPT)
    out = tmp_path / "fast.jsonl"
    result = runner.invoke(
        app,
        [
            "precode",
            str(source),
            "--codebook",
            str(DEMO / "codebook.yaml"),
            "--out",
            str(out),
            "--fast",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    assert len(out.read_text().splitlines()) == json.loads(result.stdout)["units"]
    bad = subprocess.run(
        [
            sys.executable,
            "-c",
            "from transcode.cli import main; main()",
            "precode",
            str(source),
            "--codebook",
            str(DEMO / "codebook.yaml"),
            "--out",
            str(tmp_path / "x.jsonl"),
            "--model-name",
            str(tmp_path / "nowhere"),
        ],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(DEMO.parents[1])},
    )
    assert bad.returncode == 2
    assert "nowhere" in bad.stderr and len(bad.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "x.jsonl").exists()


def test_train_then_precode_with_the_model(runner, small_gold, tmp_path, cache_env):
    model_dir = tmp_path / "model"
    result = runner.invoke(
        app,
        [
            "train",
            "--codebook",
            str(DEMO / "codebook.yaml"),
            "--gold",
            str(small_gold),
            "--out",
            str(model_dir),
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["n_train"] > 50
    assert summary["metrics"]["evaluation"] == "leave-one-case-out"
    assert 0 <= summary["metrics"]["trained_sequence_one_key_rate"] <= 1
    assert 0 <= summary["metrics"]["trained_sequence_top1_accuracy"] <= 1
    assert (model_dir / "MODEL_CARD.md").is_file()
    source = tmp_path / "case_42.txt"
    source.write_text(TRANSCRIPT)
    out = tmp_path / "proposals.jsonl"
    result = runner.invoke(
        app,
        [
            "precode",
            str(source),
            "--codebook",
            str(DEMO / "codebook.yaml"),
            "--out",
            str(out),
            "--model",
            str(model_dir),
        ],
    )
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert lines and all(len(r["proposals"]) == 8 for r in lines)


def test_evaluate_reports_methods_and_writes_curves(runner, small_gold, tmp_path, cache_env):
    result = runner.invoke(
        app,
        [
            "evaluate",
            "--codebook",
            str(DEMO / "codebook.yaml"),
            "--gold",
            str(small_gold),
            "--out",
            str(tmp_path),
            "--no-fast",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    (report,) = json.loads(result.stdout)["reports"]
    assert report["folds"] == "leave-one-case-out" and report["n_cases"] == 3
    assert set(report["methods"]) == {
        "zeroshot",
        "zeroshot_sequence",
        "trained",
        "trained_sequence",
        "question_matching",
        "tfidf_lr",
    }
    for m in report["methods"].values():
        for measure in ("top1_accuracy", "micro_f1", "macro_f1", "one_key_rate", "recall", "ece"):
            assert 0 <= m[measure] <= 1
        assert set(m["per_domain"]) == set(report["domains"])
    (untuned,) = report["subsets"]  # the cases other than 01, 05 and 06
    assert untuned.startswith("2 cases not used for tuning")
    curves = report["learning_curves"]["curves"]
    assert {"trained", "trained_sequence", "tfidf_lr"} == set(curves)
    assert curves["trained_sequence"][0]["n"] == 0  # zero-shot starts the curve
    assert list(tmp_path.glob("learning-curve-*.png"))
    assert (tmp_path / "evaluation.json").is_file()


def test_train_without_consensus_is_a_clean_error(runner, db_url, tmp_path):
    from transcode.store import open_store

    open_store(db_url, create=True)
    result = runner.invoke(
        app,
        ["train", "--codebook", str(DEMO / "codebook.yaml"), "--db", db_url, "--out", str(tmp_path / "m")],
    )
    assert result.exit_code != 0
    assert not (tmp_path / "m").exists()
