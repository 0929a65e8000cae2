"""Throughput of `precode` against the encoder alone, cached re-runs, peak memory, and the fast tier.

All in one run on the same units (the demo transcripts, repeated with ``--repeat``):

* raw encoder: ``SentenceEncoder.encode_raw`` on the unit texts (the ceiling);
* propose stage: the zero-shot proposer on the same units from a cold embedding
  cache (unit + question vectors, cache writes, scoring) -> ratio to raw
  (target >= 0.80); also the ratio to raw encoding of everything the stage must
  encode (units + distinct questions), which isolates the pipeline's own overhead;
* end to end: de-identification + splitting + proposing, units/s;
* cached re-run of the propose stage -> speed-up over the cold run (target >= 20x);
* peak memory: process max RSS and the Python-heap peak of the propose stage;
* fast tier: the same propose stage with the static model2vec encoder.

Run: ``python benchmarks/precode_benchmark.py [--repeat N] [--json]``
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
import tracemalloc
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _repeat_cases(transcripts, repeat: int):
    """Copies of the demo cases under new case ids, so the cache sees new text each time."""
    out = []
    for r in range(repeat):
        for t in transcripts:
            turns = [turn.with_text(f"{turn.text} (copy {r})") if r else turn for turn in t.turns]
            out.append(replace(t, case=f"{t.case}r{r}", turns=tuple(turns)))
    return out


def _timed(fn):
    start = time.perf_counter()
    value = fn()
    return value, time.perf_counter() - start


def run(repeat: int = 1) -> dict:
    from transcode.classify.proposer import zero_shot
    from transcode.codebook import load_codebook
    from transcode.embed import SentenceEncoder, StaticEncoder
    from transcode.pipeline import prepare, propose, read_all

    demo = ROOT / "corpora" / "demo"
    files = sorted(demo.glob("case_*.txt"))
    if not files:
        raise SystemExit("demo corpus not built: run corpora/demo/build_demo.py")
    book = load_codebook(demo / "codebook.yaml")
    transcripts = _repeat_cases(read_all(files), repeat)
    with tempfile.TemporaryDirectory() as tmp:
        encoder = SentenceEncoder(cache_path=Path(tmp) / "embeddings.sqlite")
        encoder.encode_raw(["warm up the model and its threads"] * 8)
        prepared, prepare_s = _timed(lambda: prepare(transcripts))
        units = [u for case in prepared for u in case.units]
        texts = [u.text for u in units]
        _, raw_s = _timed(lambda: encoder.encode_raw(texts))
        asked = list(dict.fromkeys(u.question for u in units if u.question))
        _, raw_all_s = _timed(lambda: encoder.encode_raw(texts + asked))
        classifier = zero_shot(book, encoder)
        cold, cold_s = _timed(lambda: list(propose(prepared, classifier)))
        cached, cached_s = _timed(lambda: list(propose(prepared, classifier)))
        assert [p.scores for _, p in cached] == [p.scores for _, p in cold]
        fast = zero_shot(book, StaticEncoder())
        fast.encoder.encode_raw(["warm up"])
        _, fast_raw_s = _timed(lambda: fast.encoder.encode_raw(texts))
        _, fast_s = _timed(lambda: list(propose(prepared, fast)))
        # The heap is traced in a separate cold run: tracemalloc slows the code it watches.
        heap_encoder = SentenceEncoder(cache_path=Path(tmp) / "heap-embeddings.sqlite")
        tracemalloc.start()
        list(propose(prepared, zero_shot(book, heap_encoder)))
        _, heap_peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        n = len(units)
        questions = len({u.question for u in units if u.question})
    return {
        "units": n,
        "cases": len(transcripts),
        "distinct_questions": questions,
        "raw_encode_units_per_s": n / raw_s,
        "propose_units_per_s": n / cold_s,
        "propose_vs_raw_ratio": raw_s / cold_s,
        "raw_encode_units_and_questions_seconds": raw_all_s,
        "propose_vs_raw_units_and_questions_ratio": raw_all_s / cold_s,
        "end_to_end_units_per_s": n / (prepare_s + cold_s),
        "end_to_end_vs_raw_ratio": raw_s / (prepare_s + cold_s),
        "deid_split_units_per_s": n / prepare_s,
        "cached_rerun_seconds": cached_s,
        "cold_run_seconds": cold_s,
        "cached_speedup": cold_s / cached_s,
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "propose_python_heap_peak_mib": heap_peak / 2**20,
        "fast_raw_encode_units_per_s": n / fast_raw_s,
        "fast_propose_units_per_s": n / fast_s,
        "fast_vs_minilm_propose_speedup": cold_s / fast_s,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=1, help="Copies of the demo corpus to process.")
    parser.add_argument("--json", action="store_true", help="Print one JSON document.")
    args = parser.parse_args()
    result = run(args.repeat)
    if args.json:
        print(json.dumps(result, indent=2))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"precode benchmark: {result['units']} units, {result['cases']} cases")
    table.add_column("measure")
    table.add_column("value", justify="right")
    targets = {"propose_vs_raw_ratio": 0.8, "cached_speedup": 20}
    for key, value in result.items():
        mark = ""
        if key in targets:
            verdict = "met" if value >= targets[key] else "NOT met"
            mark = f"  (target >= {targets[key]:g}: {verdict})"
        table.add_row(key, (f"{value:,.2f}" if isinstance(value, float) else str(value)) + mark)
    Console().print(table)


if __name__ == "__main__":
    main()
