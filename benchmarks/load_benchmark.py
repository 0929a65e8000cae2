"""Decisions/s with N judges' processes coding one store at once, SQLite and PostgreSQL, in one run.

Each judge is a real process (``python -m transcode.testing.judge_load``) toggling domains on
the same units; afterwards every acknowledged decision is checked to be stored
exactly once. PostgreSQL is measured when TRANSCODE_TEST_POSTGRES names a server
whose role may CREATE DATABASE (as in ``.ci/run``).

Run: ``python benchmarks/load_benchmark.py [--judges 5] [--seconds 20]``
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def run_load(url: str, judges: int, seconds: float, work: Path) -> dict:
    from tests.support.stores import build_store
    from transcode.testing.judge_load import read_acks, stored_decisions

    store = build_store(url)
    names = [f"J{i + 1}" for i in range(judges)]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    processes = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "transcode.testing.judge_load",
                url,
                n,
                str(seconds),
                str(work / f"{n}.acks"),
                str(work / "go"),
            ],
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )
        for n in names
    ]
    for p in processes:
        assert p.stdout.readline().strip() == "READY"
    started = time.perf_counter()
    (work / "go").touch()
    for p in processes:
        p.communicate(timeout=seconds + 120)
        assert p.returncode == 0
    elapsed = time.perf_counter() - started
    total, exact = 0, True
    for n in names:
        acks = read_acks(work / f"{n}.acks")
        exact &= stored_decisions(store, n) == acks
        total += len(acks)
    store.close()
    return {"decisions": total, "seconds": elapsed, "per_s": total / seconds, "exactly_once": exact}


def postgres_database():
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    admin_url = os.environ["TRANSCODE_TEST_POSTGRES"]
    name = f"transcode_load_{uuid.uuid4().hex[:8]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    return admin, name, make_url(admin_url).set(database=name).render_as_string(hide_password=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--judges", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=20.0)
    args = parser.parse_args()
    from rich.console import Console
    from rich.table import Table
    from sqlalchemy import text

    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "sqlite").mkdir()
        results["SQLite (WAL)"] = run_load(
            f"sqlite:///{tmp}/store.db", args.judges, args.seconds, Path(tmp) / "sqlite"
        )
        if os.environ.get("TRANSCODE_TEST_POSTGRES"):
            admin, name, url = postgres_database()
            (Path(tmp) / "pg").mkdir()
            try:
                results["PostgreSQL"] = run_load(url, args.judges, args.seconds, Path(tmp) / "pg")
            finally:
                with admin.connect() as conn:
                    conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    table = Table(
        title=f"{args.judges} judges coding one store for {args.seconds:g} s ({os.cpu_count()} CPUs)"
    )
    for column in ("database", "decisions", "decisions/s", "every ack stored exactly once"):
        table.add_column(column, justify="right")
    for db, r in results.items():
        table.add_row(db, str(r["decisions"]), f"{r['per_s']:,.0f}", "yes" if r["exactly_once"] else "NO")
    if len(results) == 2:
        ratio = results["PostgreSQL"]["per_s"] / results["SQLite (WAL)"]["per_s"]
        table.caption = f"PostgreSQL / SQLite throughput: {ratio:.2f}"
    Console().print(table)


if __name__ == "__main__":
    main()
