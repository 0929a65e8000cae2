"""Never lose work: kill -9 mid-stream, and two judges writing the same store at once.

The writers are real processes: one drives the app through Pilot (the UI code
path, acknowledging each decision once the screen shows it saved), the others
drive the coding session the screen calls, as fast as they can.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support import REPO
from tests.support.stores import LEAD, build_store
from transcode.coding import people

WRITER = r"""
import asyncio, pathlib, sys
from transcode.store import open_store
from transcode.coding import independent

url, judge, mode, count, gate = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5]
store = open_store(url)


def wait_for_gate():
    print("READY", flush=True)
    while not pathlib.Path(gate).exists():
        pass


async def through_the_ui():
    from transcode.tui.app import TranscodeApp

    app = TranscodeApp(store, judge=judge, use_model=False)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = app.main
        wait_for_gate()
        for i in range(count):
            await pilot.press(str(1 + i % 8))
            saved = screen.session.last_saved
            shown = str(screen.query_one("#saved").content)
            assert f"saved {saved.unit}" in shown, shown
            print("ACK", *saved.decision_ids, flush=True)
            if i % 8 == 7:
                await pilot.press("enter")


def through_the_session():
    from transcode.coding.independent import CodingSession

    session = CodingSession(store, judge, store.codebook())
    wait_for_gate()
    for i in range(count):
        saved = session.toggle(1 + i % 8)
        print("ACK", *saved.decision_ids, flush=True)
        if i % 8 == 7:
            session.next()
        if i % 50 == 0:
            independent.judge_feedback(store, judge)  # the screen's reader runs alongside the writers


if mode == "ui":
    asyncio.run(through_the_ui())
else:
    through_the_session()
"""


def start_writer(url: str, judge: str, mode: str, count: int, gate: Path) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    process = subprocess.Popen(
        [sys.executable, "-c", WRITER, url, judge, mode, str(count), str(gate)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=REPO,
    )
    assert process.stdout.readline().strip() == "READY", process.stderr.read()
    return process


def acknowledged(lines: list[str]) -> list[int]:
    """Decision ids from complete ACK lines (a line cut by the kill has no newline and is ignored)."""
    return [
        int(i) for line in lines if line.startswith("ACK ") and line.endswith("\n") for i in line.split()[1:]
    ]


def stored_ids(path: Path, judge: str) -> set[int]:
    with sqlite3.connect(path) as db:
        return {
            row[0]
            for row in db.execute(
                "SELECT d.id FROM code_decision d JOIN judge j ON j.id = d.judge_id WHERE j.name = ?",
                (judge,),
            )
        }


def integrity(path: Path) -> tuple[str, list]:
    with sqlite3.connect(path) as db:
        return db.execute("PRAGMA integrity_check").fetchone()[0], db.execute(
            "PRAGMA foreign_key_check"
        ).fetchall()


@pytest.fixture()
def store_path(tmp_path) -> Path:
    path = tmp_path / "store.db"
    store = build_store(f"sqlite:///{path}")
    for judge in ("K", "P", "Q"):
        people.add_person(store, judge, "judge")
    people.assign(store, ["K", "P", "Q"], None, LEAD)
    store.close()
    return path


def test_kill_9_loses_no_decision_the_screen_showed_as_saved(store_path, tmp_path):
    gate = tmp_path / "go"
    writer = start_writer(f"sqlite:///{store_path}", "K", "ui", 10_000, gate)
    gate.touch()
    lines = []
    while len(acknowledged(lines)) < 25:
        line = writer.stdout.readline()
        assert line, writer.stderr.read()
        lines.append(line)
    writer.send_signal(signal.SIGKILL)
    writer.wait(timeout=10)
    lines += writer.stdout.readlines()  # acknowledgements still in the pipe count too
    acks = acknowledged(lines)
    assert writer.returncode == -signal.SIGKILL and len(acks) >= 25
    assert set(acks) <= stored_ids(store_path, "K")
    assert integrity(store_path) == ("ok", [])
    from transcode.coding.independent import judge_codes
    from transcode.store import open_store

    reopened = open_store(f"sqlite:///{store_path}")
    assert judge_codes(reopened, "K")  # the log still folds into codes
    reopened.close()


def test_two_judges_coding_at_once_neither_block_nor_overwrite(store_path, tmp_path):
    gate = tmp_path / "go"
    count = 400
    url = f"sqlite:///{store_path}"
    writers = {judge: start_writer(url, judge, "session", count, gate) for judge in ("P", "Q")}
    started = time.perf_counter()
    gate.touch()
    outputs = {judge: w.communicate(timeout=120) for judge, w in writers.items()}
    elapsed = time.perf_counter() - started
    for judge, (out, err) in outputs.items():
        assert writers[judge].returncode == 0, err
        assert "locked" not in err
        acks = acknowledged(out.splitlines(keepends=True))
        assert len(acks) == count
        assert stored_ids(store_path, judge) == set(acks)
    assert integrity(store_path) == ("ok", [])
    print(f"two writers, {2 * count} decisions in {elapsed:.2f}s")
