"""Pre-coding in one loop, here or on a Dask cluster: the same steps, in case order, the same bytes.

Each case is prepared (de-identified and split) and embedded on its own, here or
by a worker (:mod:`transcode.pipeline.cluster`); :func:`classified` then gives
every text one vector per run, classifies the case and, once the run is over,
writes the run's new vectors into the encoder's cache. Since no case's result
depends on where it ran or on the other cases, ``--workers`` gives the bytes of
the single-process run.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from transcode.classify import UnitProposal
from transcode.files import atomic_writer, ensure_folder
from transcode.pipeline.stages import (
    CaseResult,
    PreparedCase,
    classify_case,
    contract_record,
    embed_case,
    prepare,
    reuse_earlier_vectors,
    save_fresh,
)
from transcode.transcript import Transcript
from transcode.units import ThoughtUnit

if TYPE_CHECKING:
    from transcode.codebook import Codebook
    from transcode.store import Store


@dataclass
class PrecodeRun:
    """What a pre-coding run made: the prepared cases and, per unit, its proposal and PROPOSALS.jsonl line."""

    cases: list[PreparedCase] = field(default_factory=list)
    records: list[dict] = field(default_factory=list)
    proposals: dict[str, UnitProposal] = field(default_factory=dict)

    def summary(self) -> list[dict]:
        """Per case: units, identifiers removed, and how many units the model suggests per domain."""
        by_case: dict[str, Counter] = {}
        for record in self.records:
            counts = by_case.setdefault(record["case"], Counter())
            for domain in record["suggested"] or ["other"]:
                counts[domain] += 1
        return [
            {
                "case": c.transcript.case,
                "units": len(c.units),
                "replacements": c.replacements,
                "suggested": dict(by_case.get(c.transcript.case, Counter())),
            }
            for c in self.cases
        ]


def classified(
    results: Iterable[CaseResult], classifier, *, sequence: bool = True
) -> Iterator[tuple[PreparedCase, list]]:
    """Each case with its proposals, in the order given; the run's new vectors are cached at the end.

    Each case is scored alone (``sequence``: with the sequence layer over its turns), so its
    proposals never depend on the other cases of the run nor on where it was prepared."""
    fresh: dict[str, np.ndarray] = {}
    for result in results:
        vectors = reuse_earlier_vectors(result.case, result.vectors, fresh)
        yield result.case, classify_case(classifier, result.case, vectors, sequence=sequence)
    save_fresh(classifier.encoder, fresh)


def propose(
    cases: Sequence[PreparedCase],
    classifier,
    *,
    sequence: bool = True,
    on_progress: Callable[[int], None] | None = None,
) -> Iterator[tuple[ThoughtUnit, UnitProposal]]:
    """Yield (unit, UnitProposal) for every unit of prepared cases, in transcript order."""
    here = (CaseResult(case, embed_case(classifier.encoder, case)) for case in cases)
    for case, proposals in classified(here, classifier, sequence=sequence):
        yield from zip(case.units, proposals, strict=True)
        if on_progress:
            on_progress(len(case.units))


def precode(
    transcripts: Sequence[Transcript],
    classifier,
    *,
    known_names: Sequence[str] = (),
    client: Any = None,
    sequence: bool = True,
    on_case: Callable[[int], None] | None = None,
) -> PrecodeRun:
    """De-identify, split, embed and propose for every transcript; on a cluster with a Dask ``client``.

    ``sequence=False`` scores each unit without the sequence layer (``precode --no-sequence``).
    ``on_case`` is called as each case is done (on a cluster: as each worker finishes one).
    """
    if client is None:
        results: Iterable[CaseResult] = _here(transcripts, classifier.encoder, known_names, on_case)
    else:
        from transcode.pipeline import cluster

        results = cluster.prepare_and_embed_on_cluster(
            client,
            transcripts,
            known_names=known_names,
            spec=cluster.encoder_spec(classifier.encoder),
            on_case=on_case,
        )
    run = PrecodeRun()
    for case, proposals in classified(results, classifier, sequence=sequence):
        run.cases.append(case)
        for unit, proposal in zip(case.units, proposals, strict=True):
            run.records.append(contract_record(unit, proposal))
            run.proposals[unit.unit_id] = proposal
    return run


def _here(transcripts, encoder, known_names, on_case) -> Iterator[CaseResult]:
    for transcript in transcripts:
        (case,) = prepare([transcript], known_names=known_names)
        yield CaseResult(case, embed_case(encoder, case))
        if on_case:
            on_case(1)


def write_proposals(
    path: str | Path, records: Iterable[dict], *, also: Callable[[], object] | None = None
) -> Path:
    """PROPOSALS.jsonl (docs/formats.md section 3), one JSON object per unit; it appears only complete.

    ``also`` (loading the run into a store) runs once the file is written in full, before it takes
    its name: if it fails, no file appears; if it succeeds, only the rename is left to do.
    """
    import json

    path = Path(path)
    ensure_folder(path.parent)
    with atomic_writer(path) as stream:
        stream.writelines(json.dumps(record, ensure_ascii=False) + "\n" for record in records)
        stream.flush()
        if also is not None:
            also()
    return path


def save_run(store: Store, codebook: Codebook, run: PrecodeRun) -> None:
    """Load the run into the store in one transaction: the codebook, every case's transcript and
    units, the proposals; all of it or nothing."""
    store.import_cases(
        [(case.transcript, case.units) for case in run.cases], codebook=codebook, proposals=run.proposals
    )
