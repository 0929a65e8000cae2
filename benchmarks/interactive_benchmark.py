"""The coding room, ``agree --db`` and the exports on 10k..100k-unit stores, this checkout against another.

Each store is built from copies of the demo store (``corpora/demo/load_gold.py``: judges A and
B's codes, consensus, categories, core ideas) plus a stored proposal per unit and a third judge
C assigned to every case; copies are made in SQL under new case and unit keys. The coding room
is measured for judge C while every case is in independent coding: the time until the first
unit shows, then 40 keys (toggle, accept, other), each timed from the key press until the
screen shows "saved", with the judge pausing 0.5 s between keys as a person does; memory is the
room process's peak. Then every case moves to consensus and ``agree --db``, ``export --format
xlsx`` and ``export --format qdpx`` run as commands (wall time and peak memory of the
process); the .qdpx is imported back into a new store. Every measurement runs in a fresh
process, for each checkout in turn on the same store size, so the ratios compare like with like
on a noisy machine.

Run: ``python benchmarks/interactive_benchmark.py [--units 10000 100000] [--baseline ../main]``
(``--baseline``: another checkout, e.g. a ``git worktree`` of main; its stores are built by its own
code). ``--qdpx-units 200000`` adds a qdpx export + import round trip at that size.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEMO_UNITS = 1119
KEYS = ["2", "a", "o", "3", "a"]
PAUSE = 0.5
N_KEYS = 40

# -- building a store --------------------------------------------------------------------------------
#: Tables copied per copy of the demo, with the columns whose ids shift (the rest are copied as is).
_COPIED = {
    "case_": {"id"},
    "transcript": {"id", "case_id"},
    "turn": {"id", "transcript_id"},
    "thought_unit": {"id", "case_id", "transcript_id", "turn_id"},
    "proposal": {"id", "unit_id"},
    "code_decision": {"id", "unit_id"},
    "consensus_code": {"id", "unit_id"},
    "assignment": {"id", "case_id"},
    "core_idea": {"id", "case_id", "supersedes_id"},
    "core_idea_unit": {"core_idea_id", "unit_id"},
    "core_idea_category": {"core_idea_id"},
}
#: Which table each shifted column points into.
_TARGET = {
    "id": None,
    "case_id": "case_",
    "transcript_id": "transcript",
    "turn_id": "turn",
    "unit_id": "thought_unit",
    "supersedes_id": "core_idea",
    "core_idea_id": "core_idea",
}


def build(db_path: Path, units: int) -> dict:
    """A store of about ``units`` units: the demo store, then copies of it made in SQL."""
    import sqlite3

    sys.path.insert(0, str(ROOT / "corpora" / "demo"))
    from load_gold import load_demo

    from transcode.classify import UnitProposal
    from transcode.coding import people
    from transcode.store import open_store

    url = f"sqlite:///{db_path}"
    load_demo(url, quiet=True, judged=None)
    with open_store(url) as store:
        codebook = store.codebook()
        assert codebook is not None
        domains = codebook.domain_ids
        gold = _gold_codes(db_path)
        proposals = {}
        for n, (key, codes) in enumerate(sorted(gold.items())):
            scores = {d: round(0.05 + 0.01 * ((n + i) % 9), 3) for i, d in enumerate(domains)}
            for rank, d in enumerate(sorted(c for c in codes if c in scores)):
                scores[d] = 0.9 - 0.2 * rank
            ranked = tuple(sorted(scores.items(), key=lambda kv: -kv[1]))
            proposals[key] = UnitProposal(ranked, tuple(d for d, s in ranked if s >= 0.5), "bench:model")
        store.save_proposals(proposals)
        people.add_person(store, "C", "judge")
        people.assign(store, ["C"], None, "team")
    copies = max(1, round(units / DEMO_UNITS))
    con = sqlite3.connect(db_path)
    try:
        con.execute("UPDATE case_ SET phase = 'independent'")
        stride = {
            t: con.execute(f'SELECT coalesce(max(id), 0) FROM "{t}"').fetchone()[0]
            for t in _COPIED
            if t not in ("core_idea_unit", "core_idea_category")
        }
        columns = {t: [r[1] for r in con.execute(f'PRAGMA table_info("{t}")')] for t in _COPIED}
        for k in range(1, copies):
            for table, shifted in _COPIED.items():
                select = []
                for column in columns[table]:
                    target = table if column == "id" else _TARGET.get(column)
                    if column in shifted and target is not None:
                        shift = k * stride[target]
                        select.append(f'CASE WHEN "{column}" IS NULL THEN NULL ELSE "{column}" + {shift} END')
                    elif table == "case_" and column == "key":
                        select.append(f"key || 'x{k:03d}'")
                    elif table == "thought_unit" and column == "key":
                        case_key = "(SELECT c.key FROM case_ c WHERE c.id = thought_unit.case_id)"
                        select.append(f"{case_key} || 'x{k:03d}' || substr(key, length({case_key}) + 1)")
                    else:
                        select.append(f'"{column}"')
                where = _ORIGINAL.get(table, "").format(**{t: stride[t] for t in stride})
                con.execute(
                    f'INSERT INTO "{table}" ({", ".join(chr(34) + c + chr(34) for c in columns[table])}) '
                    f'SELECT {", ".join(select)} FROM "{table}" {where}'
                )
        con.commit()
        count = con.execute("SELECT count(*) FROM thought_unit").fetchone()[0]
    finally:
        con.close()
    return {"units": count, "copies": copies}


#: Only the demo's own rows are copied (the copies made so far are not copied again).
_ORIGINAL = {
    "case_": "WHERE id <= {case_}",
    "transcript": "WHERE id <= {transcript}",
    "turn": "WHERE id <= {turn}",
    "thought_unit": "WHERE id <= {thought_unit}",
    "proposal": "WHERE id <= {proposal}",
    "code_decision": "WHERE id <= {code_decision}",
    "consensus_code": "WHERE id <= {consensus_code}",
    "assignment": "WHERE id <= {assignment}",
    "core_idea": "WHERE id <= {core_idea}",
    "core_idea_unit": "WHERE core_idea_id <= {core_idea}",
    "core_idea_category": "WHERE core_idea_id <= {core_idea}",
}


def _gold_codes(db_path: Path) -> dict[str, set[str]]:
    import sqlite3

    con = sqlite3.connect(db_path)
    try:
        out: dict[str, set[str]] = {}
        for key, domain in con.execute(
            "SELECT u.key, c.domain FROM thought_unit u JOIN consensus_code c ON c.unit_id = u.id"
        ):
            out.setdefault(key, set()).add(domain)
        return out
    finally:
        con.close()


def to_consensus(db_path: Path) -> None:
    """Every case to consensus (what a lead's ``transcode phase`` does, without the trail)."""
    import sqlite3

    con = sqlite3.connect(db_path)
    con.execute("UPDATE case_ SET phase = 'consensus'")
    con.commit()
    con.close()


# -- measuring ---------------------------------------------------------------------------------------
def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def _room(url: str) -> dict:
    from transcode.store import open_store
    from transcode.tui.app import TranscodeApp

    start = time.perf_counter()
    store = open_store(url)
    app = TranscodeApp(store, mode="code", judge="C", use_model=False)
    latencies = []
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        opened = time.perf_counter() - start
        saved = app.screen.query_one("#saved")
        for i in range(N_KEYS):
            await asyncio.sleep(PAUSE)
            saved.update("")  # type: ignore[attr-defined]
            t0 = time.perf_counter()
            # Pilot.press itself waits for the app to idle (20 ms steps): time the screen, not that
            press = asyncio.create_task(pilot.press(KEYS[i % len(KEYS)]))
            while "saved" not in str(saved.render()):
                await asyncio.sleep(0.0005)
            latencies.append((time.perf_counter() - t0) * 1000)
            await press
        await app.workers.wait_for_complete()
    store.close()
    return {
        "open_s": opened,
        "key_median_ms": statistics.median(latencies),
        "key_max_ms": max(latencies),
        "keys_ms": [round(x) for x in latencies],
        "room_mib": _peak_mib(),
    }


#: A command still running after this long is stopped and reported as over the limit.
LIMIT_S = int(os.environ.get("TRANSCODE_BENCH_LIMIT", "900"))


def _command(args: list[str]) -> dict:
    """Run ``transcode ARGS`` in a child process: wall time and its peak memory (stopped at LIMIT_S)."""
    start = time.perf_counter()
    with tempfile.TemporaryFile() as errors:
        process = subprocess.Popen(
            [sys.executable, "-m", "transcode", *args], stdout=subprocess.DEVNULL, stderr=errors
        )
        while True:
            pid, status, usage = os.wait4(process.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() - start > LIMIT_S:
                process.kill()
                _, status, usage = os.wait4(process.pid, 0)
                return {"s": None, "mib": usage.ru_maxrss / 1024, "ok": False, "error": f"over {LIMIT_S} s"}
            time.sleep(0.05)
        elapsed = time.perf_counter() - start
        errors.seek(0)
        error = errors.read().decode(errors="replace")[-400:]
    ok = os.waitstatus_to_exitcode(status) == 0
    return {"s": elapsed, "mib": usage.ru_maxrss / 1024, "ok": ok, "error": error}


def measure(db_path: Path, what: str, work: Path) -> dict:
    url = f"sqlite:///{db_path}"
    if what == "room":
        return asyncio.run(_room(url))
    if what == "agree":
        return _command(["agree", "--db", url, "--json"])
    if what == "xlsx":
        return _command(["export", "--db", url, "--format", "xlsx", "--out", str(work / "p.xlsx")])
    if what == "qdpx":
        out = _command(["export", "--db", url, "--format", "qdpx", "--out", str(work / "p.qdpx")])
        if out["ok"]:
            import zipfile

            with zipfile.ZipFile(work / "p.qdpx") as archive:
                out["project_qde_mib"] = archive.getinfo("project.qde").file_size / 2**20
            back = _command(["import-qdpx", str(work / "p.qdpx"), "--db", f"sqlite:///{work / 'back.db'}"])
            out["import_s"], out["import_ok"], out["import_error"] = back["s"], back["ok"], back["error"]
        return out
    raise SystemExit(f"unknown measurement {what}")


# -- driving both checkouts -----------------------------------------------------------------------------
def _child(checkout: Path, *args: str) -> dict:
    env = {**os.environ, "PYTHONPATH": str(checkout)}
    result = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), *args],
        env=env,
        cwd=checkout,
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        return {"ok": False, "error": result.stderr[-600:]}
    return json.loads(result.stdout.strip().splitlines()[-1])


def _cell(value, fmt: str) -> str:
    if value == "limit":
        return f"> {os.environ.get('TRANSCODE_BENCH_LIMIT', LIMIT_S)} s"
    return "fails" if value is None else fmt.format(value)


def _time(result: dict):
    """Seconds, "limit" when stopped at the limit, None when it failed."""
    if "over" in str(result.get("error", "")):
        return "limit"
    return result["s"] if result.get("ok") else None


ROWS = [
    ("open until the first unit shows", "room", lambda r: r.get("open_s"), "{:.2f} s"),
    ("keypress -> saved, median", "room", lambda r: r.get("key_median_ms"), "{:.0f} ms"),
    ("keypress -> saved, max", "room", lambda r: r.get("key_max_ms"), "{:.0f} ms"),
    ("coding room memory after 40 keys", "room", lambda r: r.get("room_mib"), "{:.0f} MiB"),
    ("agree --db: time", "agree", lambda r: _time(r), "{:.1f} s"),
    ("agree --db: memory", "agree", lambda r: r["mib"] if r.get("ok") else None, "{:.0f} MiB"),
    ("export xlsx: time", "xlsx", lambda r: _time(r), "{:.1f} s"),
    ("export xlsx: memory", "xlsx", lambda r: r["mib"] if r.get("ok") else None, "{:.0f} MiB"),
    ("export qdpx: time", "qdpx", lambda r: _time(r), "{:.1f} s"),
    (
        "import-qdpx of that file: time",
        "qdpx",
        lambda r: _time({"s": r.get("import_s"), "ok": r.get("import_ok"), "error": r.get("import_error")}),
        "{:.1f} s",
    ),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--units", type=int, nargs="*", default=[10_000, 100_000])
    parser.add_argument("--baseline", type=Path, help="another checkout to measure side by side")
    parser.add_argument("--qdpx-units", type=int, default=0, help="also a qdpx round trip at this size")
    parser.add_argument("--only", nargs="+", default=["room", "agree", "xlsx", "qdpx"])
    parser.add_argument("--limit", type=int, default=LIMIT_S, help="seconds a command may run")
    parser.add_argument("--worker", nargs=3, metavar=("WHAT", "DB", "ARG"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    os.environ["TRANSCODE_BENCH_LIMIT"] = str(args.limit)
    if args.worker:
        what, db, arg = args.worker
        if what == "build":
            print(json.dumps(build(Path(db), int(arg))))
        elif what == "consensus":
            to_consensus(Path(db))
            print("{}")
        else:
            print(json.dumps(measure(Path(db), what, Path(arg))))
        return
    checkouts = {"this": ROOT}
    if args.baseline:
        checkouts = {"baseline": args.baseline.resolve(), "this": ROOT}
    print(f"machine: {os.cpu_count()} cores visible, python {sys.version.split()[0]}, {_machine()}")
    for units in args.units:
        results: dict[str, dict[str, dict]] = {}
        with tempfile.TemporaryDirectory(prefix="transcode-bench-") as tmp:
            for name, checkout in checkouts.items():
                folder = Path(tmp) / name
                folder.mkdir()
                db = folder / "store.db"
                t0 = time.perf_counter()
                built = _child(checkout, "--worker", "build", str(db), str(units))
                took = time.perf_counter() - t0
                print(f"[{name}] built {built.get('units')} units in {took:.0f} s", flush=True)
                if "units" not in built:
                    print(built.get("error"))
                    continue
                results[name] = {"built": built}
                if "room" in args.only:
                    results[name]["room"] = _child(checkout, "--worker", "room", str(db), str(folder))
                    print(f"[{name}] room {results[name]['room']}", flush=True)
                _child(checkout, "--worker", "consensus", str(db), "-")
                for what in ("agree", "xlsx", "qdpx"):
                    if what in args.only:
                        results[name][what] = _child(checkout, "--worker", what, str(db), str(folder))
                        print(f"[{name}] {what} {results[name][what]}", flush=True)
        _table(results, units)
    if args.qdpx_units:
        _qdpx_at(args.qdpx_units)


def _qdpx_at(units: int) -> None:
    with tempfile.TemporaryDirectory(prefix="transcode-bench-") as tmp:
        db = Path(tmp) / "store.db"
        built = _child(ROOT, "--worker", "build", str(db), str(units))
        _child(ROOT, "--worker", "consensus", str(db), "-")
        result = _child(ROOT, "--worker", "qdpx", str(db), tmp)
        print(f"qdpx round trip at {built.get('units')} units: {result}")


def _table(results: dict[str, dict[str, dict]], units: int) -> None:
    names = list(results)
    n_units = next(iter(results.values()))["built"]["units"] if results else units
    header = f"| what ({n_units:,} units) | " + " | ".join(names)
    if len(names) == 2:
        header += " | ratio"
    print("\n" + header + " |")
    print("|---" * (len(names) + 1 + (len(names) == 2)) + "|")
    for label, what, pick, fmt in ROWS:
        values = []
        for name in names:
            r = results[name].get(what)
            values.append(None if r is None else pick(r))
        line = f"| {label} | " + " | ".join(_cell(v, fmt) for v in values)
        if len(names) == 2:
            a, b = values
            line += " | " + (f"{a / b:.1f}x" if isinstance(a, float) and isinstance(b, float) and b else "-")
        print(line + " |")


def _machine() -> str:
    try:
        model = next(
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        )
    except (OSError, StopIteration):
        model = "unknown CPU"
    return model


if __name__ == "__main__":
    main()
