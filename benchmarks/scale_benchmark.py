"""Distributed pre-coding: units/s with 1, 2 and N Dask workers, scaling efficiency, memory per worker, GPU.

A synthetic corpus of ``--interviews`` interviews (default 1,000) is generated from
the demo corpus: each new interview keeps one demo case's interviewer turns and
takes each participant answer from a randomly chosen demo case (fixed seed), under
a new case id. Each worker count runs the same corpus through
:func:`transcode.pipeline.cluster.prepare_and_embed_on_cluster` on a fresh LocalCluster
(processes, one thread each, cold embedding cache), after a warm-up that loads the
models on every worker. With a CUDA GPU, the encoder's throughput on CUDA is
measured for batch sizes 32..1024 against the CPU in the same run.

Run: ``python benchmarks/scale_benchmark.py [--interviews 1000] [--workers 1 2 16]``
"""

from __future__ import annotations

import argparse
import os
import random
import re
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

_TURN = re.compile(r"^([A-Za-z]+):\s?(.*)$")


def _turns(path: Path) -> list[tuple[str, str]]:
    """(label, text) per turn of a demo transcript, continuation lines folded in."""
    turns: list[tuple[str, str]] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("#") or not line.strip():
            continue
        match = _TURN.match(line)
        if match:
            turns.append((match.group(1), match.group(2)))
        elif turns:
            turns[-1] = (turns[-1][0], f"{turns[-1][1]} {line.strip()}")
    return turns


def synthetic_corpus(out: Path, interviews: int, seed: int = 7) -> list[Path]:
    """Write ``interviews`` transcripts recombining the demo cases' participant answers."""
    demo = [_turns(p) for p in sorted((ROOT / "corpora" / "demo").glob("case_*.txt"))]
    if not demo:
        raise SystemExit("demo corpus not built: run corpora/demo/build_demo.py")
    answers = [text for case in demo for label, text in case if label == "P"]
    rng = random.Random(seed)
    files = []
    for n in range(interviews):
        base = demo[n % len(demo)]
        lines = [f"# case: s{n:05d}"]
        lines += [f"{label}: {rng.choice(answers) if label == 'P' else text}" for label, text in base]
        path = out / f"s{n:05d}.txt"
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        files.append(path)
    return files


def _peak_rss_mib() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_workers(transcripts, workers: int, cache_dir: Path) -> dict:
    from dask.distributed import Client, LocalCluster

    from transcode.pipeline.cluster import EncoderSpec, prepare_and_embed_on_cluster

    os.environ["TRANSCODE_CACHE"] = str(cache_dir)  # inherited by the worker processes: a cold cache
    spec = EncoderSpec()
    with (
        LocalCluster(
            n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        Client(cluster) as client,
    ):
        # Warm-up: every worker loads spaCy and MiniLM before the clock starts.
        list(prepare_and_embed_on_cluster(client, transcripts[:workers], spec=EncoderSpec(use_cache=False)))
        start = time.perf_counter()
        units = sum(len(r.case.units) for r in prepare_and_embed_on_cluster(client, transcripts, spec=spec))
        seconds = time.perf_counter() - start
        rss = client.run(_peak_rss_mib)
    return {"workers": workers, "units": units, "seconds": seconds, "rss_mib": max(rss.values())}


def gpu_throughput(texts: list[str]) -> list[dict]:
    import torch

    from transcode.embed import SentenceEncoder

    if not torch.cuda.is_available():
        return []
    cpu = SentenceEncoder(use_cache=False, device="cpu")
    sample = texts[:2000]
    cpu.encode_raw(sample[:64])
    start = time.perf_counter()
    cpu.encode_raw(sample)
    cpu_rate = len(sample) / (time.perf_counter() - start)
    rows = []
    for batch in (32, 64, 128, 256, 512, 1024):
        gpu = SentenceEncoder(use_cache=False, device="cuda", batch_size=batch)
        gpu.encode_raw(sample[:batch])
        torch.cuda.synchronize()
        start = time.perf_counter()
        gpu.encode_raw(texts)
        torch.cuda.synchronize()
        rate = len(texts) / (time.perf_counter() - start)
        rows.append({"batch": batch, "units_per_s": rate, "vs_cpu": rate / cpu_rate, "cpu": cpu_rate})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--interviews", type=int, default=1000)
    parser.add_argument("--workers", type=int, nargs="+", default=None, help="Default: 1, 2 and CPU count.")
    args = parser.parse_args()
    from rich.console import Console
    from rich.table import Table

    from transcode.pipeline import read_all

    counts = args.workers or sorted({1, 2, os.cpu_count() or 1})
    console = Console()
    with tempfile.TemporaryDirectory() as tmp:
        files = synthetic_corpus(Path(tmp), args.interviews)
        transcripts = read_all(files)
        results = [run_workers(transcripts, n, Path(tmp) / f"cache{n}") for n in counts]
        texts = [t.text for tr in transcripts for t in tr.turns if t.speaker_role == "participant"]
        gpu = gpu_throughput(texts)
    base = results[0]["units"] / results[0]["seconds"] / results[0]["workers"]
    table = Table(
        title=f"precode (de-identify + split + embed) on {args.interviews} synthetic interviews, "
        f"{results[0]['units']} units, {os.cpu_count()} CPUs"
    )
    for column in ("workers", "seconds", "units/s", "speed-up", "efficiency", "peak RSS/worker MiB"):
        table.add_column(column, justify="right")
    for r in results:
        rate = r["units"] / r["seconds"]
        speedup = rate / (base * results[0]["workers"])
        table.add_row(
            str(r["workers"]),
            f"{r['seconds']:.1f}",
            f"{rate:,.1f}",
            f"{speedup:.2f}x",
            f"{speedup * results[0]['workers'] / r['workers']:.2f}",
            f"{r['rss_mib']:,.0f}",
        )
    console.print(table)
    if not gpu:
        console.print("no CUDA GPU: encoder GPU throughput not measured")
        return
    gpu_table = Table(
        title=f"MiniLM encoder on CUDA vs CPU ({gpu[0]['cpu']:,.0f} units/s on CPU), {len(texts)} texts"
    )
    for column in ("batch size", "units/s", "vs CPU"):
        gpu_table.add_column(column, justify="right")
    for row in gpu:
        gpu_table.add_row(str(row["batch"]), f"{row['units_per_s']:,.0f}", f"{row['vs_cpu']:.1f}x")
    console.print(gpu_table)


if __name__ == "__main__":
    main()
