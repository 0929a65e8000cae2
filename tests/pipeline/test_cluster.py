"""`transcode precode --workers N` / `--dask ADDRESS`: the same bytes as the single-process run."""

from __future__ import annotations

import json
import sys

import pytest
from typer.testing import CliRunner

from tests.support import DEMO, REPO, demo_transcripts
from tests.support.cli import run_transcode


@pytest.fixture(scope="module")
def app():
    import transcode.cli

    transcode.cli._register()
    return transcode.cli.app


def precode(app, files, out, cache_dir, monkeypatch, *extra: str):
    # Each run starts from its own empty embedding cache: identical output must come from
    # identical computation, not from the second run reading the first run's vectors.
    monkeypatch.setenv("TRANSCODE_CACHE", str(cache_dir))
    monkeypatch.setattr("transcode.embed.DEFAULT_CACHE_DIR", cache_dir)
    args = ["precode", *map(str, files), "--codebook", str(DEMO / "codebook.yaml"), "--out", str(out)]
    return CliRunner().invoke(app, [*args, *extra, "--json"])


def test_local_cluster_output_is_byte_identical_to_one_process(app, tmp_path, monkeypatch):
    files = demo_transcripts()[:3]
    single = precode(app, files, tmp_path / "single.jsonl", tmp_path / "cache1", monkeypatch)
    assert single.exit_code == 0, single.output
    multi = precode(app, files, tmp_path / "multi.jsonl", tmp_path / "cache2", monkeypatch, "--workers", "2")
    assert multi.exit_code == 0, multi.output
    assert (tmp_path / "multi.jsonl").read_bytes() == (tmp_path / "single.jsonl").read_bytes()
    summary = json.loads(multi.stdout)
    assert summary["units"] == len((tmp_path / "single.jsonl").read_text().splitlines()) > 100
    assert [c["case"] for c in summary["cases"]] == ["01", "02", "03"]
    # The driver wrote the workers' new vectors into its cache once the run was over.
    assert (tmp_path / "cache2" / "embeddings.sqlite").stat().st_size > 0


def test_proposals_of_a_case_do_not_depend_on_the_other_cases(app, tmp_path, monkeypatch):
    """Case-local: a case precoded alone gets the bytes it gets among others (trained, with sequence)."""
    files = demo_transcripts()[:3]
    model = ["--model", str(REPO / "models" / "demo-minilm")]
    cache = tmp_path / "cache"
    together = precode(app, files, tmp_path / "together.jsonl", cache, monkeypatch, *model)
    assert together.exit_code == 0, together.output
    alone = precode(app, files[1:2], tmp_path / "alone.jsonl", cache, monkeypatch, *model)
    assert alone.exit_code == 0, alone.output
    lines = (tmp_path / "together.jsonl").read_text(encoding="utf-8").splitlines()
    second = [line for line in lines if json.loads(line)["case"] == "02"]
    assert len(second) > 50
    assert (tmp_path / "alone.jsonl").read_text(encoding="utf-8").splitlines() == second


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--workers", "2", "--dask", "tcp://x:1"], "either --workers or --dask"),
        (["--workers", "0"], "--workers must be at least 1"),
        (["--dask", "tcp://127.0.0.1:9"], "cannot reach the Dask scheduler at tcp://127.0.0.1:9"),
    ],
)
def test_bad_cluster_options_are_one_clear_error(tmp_path, options, message):
    out = tmp_path / "x.jsonl"
    result = run_transcode(
        "precode",
        str(demo_transcripts()[0]),
        "--codebook",
        str(DEMO / "codebook.yaml"),
        "--out",
        str(out),
        *options,
        "--json",
        env={"DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT": "2s", "TRANSCODE_CACHE": str(tmp_path / "c")},
    )
    assert result.returncode == 2, result.stderr
    assert message in result.stderr and len(result.stderr.strip().splitlines()) >= 1
    assert result.stderr.strip().splitlines()[-1].startswith("transcode: error:")
    assert result.stdout == "" and not out.exists()


def test_missing_dask_names_the_extra(monkeypatch):
    from transcode.errors import InputError
    from transcode.pipeline import cluster as distributed

    monkeypatch.setitem(sys.modules, "dask.distributed", None)  # what an install without it imports
    with pytest.raises(InputError, match=r"transcode\[distributed\]"):
        distributed.require_dask()
