"""The main job, stage by stage: ingest -> de-identify -> split -> propose domains.

Everything here works on in-memory objects; the CLI reads files and writes
results at the edges. Identifiers are removed before any unit exists, so no
later stage (store, proposals, logs) can see them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from transcode.codebook import Codebook
from transcode.ingest import read_transcript
from transcode.transcript import InputError, Transcript
from transcode.units import ThoughtUnit, split_transcripts


@dataclass(frozen=True)
class IngestOptions:
    interviewer_labels: tuple[str, ...] | None = None
    participant_labels: tuple[str, ...] | None = None
    other_speakers: str = "error"


@dataclass(frozen=True)
class PreparedCase:
    """A de-identified transcript and its thought units."""

    transcript: Transcript
    units: list[ThoughtUnit]
    replacements: int


def read_all(paths: Sequence[str | Path], options: IngestOptions = IngestOptions()) -> list[Transcript]:
    """Read and validate every file before any work starts, so bad input stops everything."""
    transcripts = [
        read_transcript(
            p,
            interviewer_labels=options.interviewer_labels,
            participant_labels=options.participant_labels,
            other_speakers=options.other_speakers,
        )
        for p in paths
    ]
    seen: dict[str, str] = {}
    for t in transcripts:
        if t.case in seen:
            raise InputError(f"case id {t.case!r} is also used by {seen[t.case]}", t.source)
        seen[t.case] = t.source or t.case
    return transcripts


def prepare(
    transcripts: Sequence[Transcript],
    *,
    known_names: Sequence[str] = (),
    on_progress: Callable[[int], None] | None = None,
) -> list[PreparedCase]:
    """De-identify and split each transcript (one spaCy model for both stages)."""
    from transcode.deid import deidentify

    clean, counts = [], []
    for transcript in transcripts:
        result = deidentify(transcript, known_names=known_names)
        clean.append(result.transcript)
        counts.append(len(result.replacements))
        if on_progress:
            on_progress(1)
    units = split_transcripts(clean)
    return [PreparedCase(t, u, n) for t, u, n in zip(clean, units, counts, strict=True)]


def propose(
    cases: Sequence[PreparedCase],
    classifier,
    *,
    batch_size: int = 256,
    on_progress: Callable[[int], None] | None = None,
) -> Iterator[tuple[ThoughtUnit, object]]:
    """Yield (unit, UnitProposal) for every unit, in transcript order, batching the encoder."""
    pending = [u for case in cases for u in case.units]
    for i in range(0, len(pending), batch_size):
        batch = pending[i : i + batch_size]
        proposals = classifier.propose([u.text for u in batch], [u.question for u in batch])
        yield from zip(batch, proposals, strict=True)
        if on_progress:
            on_progress(len(batch))


def contract_record(unit: ThoughtUnit, proposal) -> dict:
    """One line of PROPOSALS.jsonl (CONTRACT section 3)."""
    return {
        "case": unit.case,
        "unit": unit.unit_id,
        "text": unit.text,
        "turn": unit.turn,
        "question": unit.question,
        **proposal.as_contract(),
    }


def load_classifier(codebook: Codebook, model_path: str | Path | None = None, *, encoder=None):
    """The zero-shot classifier, or a trained one saved by ``transcode train``."""
    if model_path is not None:
        from transcode.classify import trained

        return trained.load_model(model_path, codebook=codebook, encoder=encoder)
    from transcode.classify.zeroshot import ZeroShotClassifier
    from transcode.embed import Encoder

    return ZeroShotClassifier(codebook, encoder or Encoder())
