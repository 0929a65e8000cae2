"""Five judges' processes coding one store at once, and a judge killed mid-stream, on both databases.

The writers are real processes (``python -m transcode.testing.judge_load``) calling the
same store function as the coding screen; each appends every decision the store
acknowledged to its own file before making the next one.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.support import REPO
from tests.support.stores import build_store
from transcode.coding.independent import judge_codes
from transcode.testing.judge_load import expected_codes, read_acks, stored_decisions

JUDGES = ("J1", "J2", "J3", "J4", "J5")


def start_judge(url: str, judge: str, seconds: float, tmp_path: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "transcode.testing.judge_load",
            url,
            judge,
            str(seconds),
            str(tmp_path / f"{judge}.acks"),
            str(tmp_path / "go"),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        cwd=REPO,
    )


def wait_ready(process: subprocess.Popen) -> None:
    line = process.stdout.readline().strip()
    assert line == "READY", process.stderr.read()


def test_five_judges_at_once_store_every_decision_exactly_once(db_url, tmp_path):
    store = build_store(db_url)
    judges = {judge: start_judge(db_url, judge, 3.0, tmp_path) for judge in JUDGES}
    for process in judges.values():
        wait_ready(process)
    started = time.perf_counter()
    (tmp_path / "go").touch()
    # No deadlock: every process finishes well within the timeout.
    outputs = {judge: p.communicate(timeout=90) for judge, p in judges.items()}
    elapsed = time.perf_counter() - started
    total = 0
    for judge, (out, err) in outputs.items():
        assert judges[judge].returncode == 0, err
        acks = read_acks(tmp_path / f"{judge}.acks")
        assert out.strip().splitlines()[-1] == f"DONE {len(acks)}" and len(acks) > 10
        assert len({a.decision_id for a in acks}) == len(acks)  # no id handed out twice
        assert stored_decisions(store, judge) == acks  # each stored once, none lost, none extra
        assert judge_codes(store, judge) == expected_codes(acks)
        total += len(acks)
    all_ids = [d.decision_id for judge in JUDGES for d in stored_decisions(store, judge)]
    assert len(all_ids) == len(set(all_ids)) == total
    store.close()
    print(f"{db_url.split(':')[0]}: 5 judges, {total} decisions in {elapsed:.1f}s = {total / elapsed:.0f}/s")


def test_kill_9_mid_stream_keeps_every_acknowledged_decision(db_url, tmp_path):
    store = build_store(db_url)
    judge = start_judge(db_url, "K", 60.0, tmp_path)
    wait_ready(judge)
    (tmp_path / "go").touch()
    acks_file = tmp_path / "K.acks"
    deadline = time.monotonic() + 60
    while len(read_acks(acks_file)) < 40 and time.monotonic() < deadline:
        time.sleep(0.01)
    judge.send_signal(signal.SIGKILL)
    judge.wait(timeout=10)
    assert judge.returncode == -signal.SIGKILL
    acks = read_acks(acks_file)
    stored = stored_decisions(store, "K")
    assert len(acks) >= 40
    # Every acknowledged decision is there; at most the one in flight when killed is extra.
    assert stored[: len(acks)] == acks and len(stored) - len(acks) <= 1
    reopened_codes = expected_codes(stored)
    assert judge_codes(store, "K") == reopened_codes
    store.close()
