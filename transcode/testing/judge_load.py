"""Many judges coding one store at once: the load used by the concurrency tests and benchmark.

``python -m transcode.testing.judge_load URL JUDGE SECONDS ACKS GATE`` is one judge's
process: once the file GATE exists it toggles domains on the store's units (every
judge walks the same units) through :func:`transcode.coding.independent.record_decisions`,
the call the coding screen makes, for SECONDS, appending one line to ACKS for every
decision the store acknowledged (``id unit domain action``, flushed at once). The
checker then compares the store with what each judge was told.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Ack:
    decision_id: int
    unit: str
    domain: str | None
    action: str


def next_decision(codes: dict[str, set[str]], units: Sequence[str], domains: Sequence[str], i: int):
    """The i-th keypress: toggle one domain of one unit (a unit per step, a domain per pass)."""
    unit = units[i % len(units)]
    domain = domains[(i // len(units) + i) % len(domains)]
    action = "removed" if domain in codes.setdefault(unit, set()) else "added"
    return unit, domain, action


def code_for(store, judge: str, seconds: float, acks: Path) -> int:
    """Record decisions for ``seconds``; every acknowledged one is on disk before the next starts."""
    from transcode.coding.codes import Decision
    from transcode.coding.independent import record_decisions

    units = [u.key for u in store.units()]
    domains = store.codebook().domain_ids
    codes: dict[str, set[str]] = {}
    deadline = time.monotonic() + seconds
    count = 0
    with acks.open("a", encoding="utf-8") as out:
        while time.monotonic() < deadline:
            unit, domain, action = next_decision(codes, units, domains, count)
            (decision_id,) = record_decisions(store, judge, unit, [Decision(domain, action)])
            out.write(f"{decision_id} {unit} {domain} {action}\n")
            out.flush()
            codes[unit].symmetric_difference_update({domain})
            count += 1
    return count


def read_acks(path: Path) -> list[Ack]:
    """The acknowledged decisions; a last line cut short by a kill has no newline and is ignored."""
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    lines = text.split("\n")[:-1]
    return [Ack(int(i), unit, domain, action) for i, unit, domain, action in (ln.split(" ") for ln in lines)]


def expected_codes(acks: Iterable[Ack]) -> dict[str, frozenset[str]]:
    """A judge's codes per unit, folded from what it was told, in order."""
    from transcode.coding.codes import current_codes

    return current_codes((a.unit, a.domain, a.action) for a in acks)


def stored_decisions(store, judge: str) -> list[Ack]:
    """The judge's decisions as the store holds them, in id order."""
    return [Ack(d.id, d.unit, d.domain, d.action) for d in store.decision_log(judge)]


def wait_for(gate: Path, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not gate.exists():
        if time.monotonic() > deadline:
            raise SystemExit(f"gate {gate} never opened")
        time.sleep(0.005)


def main(argv: Sequence[str]) -> None:
    from transcode.coding import people
    from transcode.store import open_store

    url, judge, seconds, acks, gate = argv
    store = open_store(url)
    if store.judge_role(judge) is None:
        people.add_person(store, judge, "judge")
    print("READY", flush=True)
    wait_for(Path(gate))
    count = code_for(store, judge, float(seconds), Path(acks))
    store.close()
    print(f"DONE {count}", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
