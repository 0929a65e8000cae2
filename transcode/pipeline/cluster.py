"""Pre-coding on a Dask cluster: workers de-identify, split and embed; the driver classifies.

Each case is one task. A worker loads its models once (a cached loader per
process), de-identifies and splits the case and embeds its units and questions
with :func:`transcode.pipeline.stages.embed_case`, exactly as the single-process run
does case by case; the driver then classifies and writes in case order
(:func:`transcode.pipeline.precode.precode`, the same loop for both). Since no
case's result depends on which worker ran it or on the other cases, the output
is byte-identical to ``transcode precode`` without a cluster.

The cluster is a local one (``--workers N``: processes with one thread each) or
any running scheduler (``--dask tcp://host:8786``), e.g. one that dask-jobqueue's
``SLURMCluster`` started.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache

from transcode.errors import InputError
from transcode.pipeline.stages import CaseResult, embed_case, prepare
from transcode.transcript import Transcript

INSTALL_HINT = "distributed pre-coding needs Dask: pip install 'transcode[distributed]'"


@dataclass(frozen=True)
class EncoderSpec:
    """What a worker needs to build the same encoder as the driver (small, picklable)."""

    model_name: str | None = None
    fast: bool = False
    use_cache: bool = True


@cache
def worker_encoder(spec: EncoderSpec):
    """One encoder per worker process, loaded on its first case and reused for the rest."""
    from transcode.embed import make_encoder

    return make_encoder(spec.model_name, fast=spec.fast, use_cache=spec.use_cache)


def prepare_and_embed(transcript: Transcript, known_names: tuple[str, ...], spec: EncoderSpec) -> CaseResult:
    """The worker's task: de-identify, split and embed one case."""
    (prepared,) = prepare([transcript], known_names=known_names)
    return CaseResult(prepared, embed_case(worker_encoder(spec), prepared))


def require_dask():
    """The distributed module, or a clear error naming the extra to install."""
    try:
        import dask.distributed as distributed
    except ImportError:
        raise InputError(INSTALL_HINT) from None
    return distributed


@contextmanager
def connect(*, address: str | None = None, workers: int | None = None) -> Iterator[object]:
    """A Dask client on the scheduler at ``address``, or on a local cluster of ``workers`` processes."""
    distributed = require_dask()
    if address:
        try:
            client = distributed.Client(address)  # connect timeout: dask config
        except OSError as err:
            raise InputError(f"cannot reach the Dask scheduler at {address}: {err}") from None
        with client:
            yield client
        return
    if not workers or workers < 1:
        raise InputError(f"a local cluster needs at least 1 worker, got {workers}")
    with (
        distributed.LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            silence_logs=logging.ERROR,
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        yield client


def prepare_and_embed_on_cluster(
    client,
    transcripts: Sequence[Transcript],
    *,
    known_names: Sequence[str] = (),
    spec: EncoderSpec = EncoderSpec(),
    on_case: Callable[[int], None] | None = None,
) -> Iterator[CaseResult]:
    """Yield every case's result in input order, submitting all cases at once.

    ``on_case`` is called as each case completes (in any order), so a progress bar
    shows the cluster's real progress while results are still consumed in order.
    """
    distributed = require_dask()
    names = tuple(known_names)
    futures = [
        client.submit(prepare_and_embed, t, names, spec, key=f"precode-{i}-{t.case}", pure=False)
        for i, t in enumerate(transcripts)
    ]
    done: dict[str, CaseResult] = {}
    next_index = 0
    for future in distributed.as_completed(futures):
        done[future.key] = future.result()
        future.release()
        if on_case:
            on_case(1)
        while next_index < len(futures) and futures[next_index].key in done:
            yield done.pop(futures[next_index].key)
            next_index += 1


def encoder_spec(encoder) -> EncoderSpec:
    """The spec that rebuilds ``encoder`` (the one the driver's classifier uses) on a worker."""
    from transcode.classify.persist import encoder_spec as saved_spec

    described = saved_spec(encoder)
    return EncoderSpec(described["path"], described["kind"] == "static", encoder.cache is not None)
