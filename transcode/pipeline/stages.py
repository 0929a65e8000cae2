"""The stages of pre-coding, each on in-memory objects: ingest, de-identify + split, embed, classify.

Identifiers are removed before any unit exists, so no later stage (store,
proposals, logs) can see them. :mod:`transcode.pipeline.precode` runs the
stages in one loop, here or on a cluster.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from transcode.codebook import Codebook
from transcode.embed import Encoder, text_key
from transcode.errors import InputError
from transcode.ingest import read_transcript
from transcode.transcript import Transcript
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
    # Split case by case: a case's units never depend on which other cases share the run
    # (the distributed run hands each worker a different subset).
    units = [split_transcripts([t])[0] for t in clean]
    return [PreparedCase(t, u, n) for t, u, n in zip(clean, units, counts, strict=True)]


@dataclass(frozen=True)
class CaseVectors:
    """A case's unit and question embeddings, plus the vectors it computed that the cache lacked."""

    units: np.ndarray
    questions: np.ndarray
    has_question: np.ndarray
    fresh: dict[str, np.ndarray]

    def as_tuple(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return self.units, self.questions, self.has_question


@dataclass(frozen=True)
class CaseResult:
    """A prepared case and its vectors: what a worker sends back, and what the local run makes."""

    case: PreparedCase
    vectors: CaseVectors


def embed_case(encoder: Encoder, case: PreparedCase) -> CaseVectors:
    """Embed one case's units and distinct questions in one length-sorted encoder call.

    The vectors depend only on the case and the embedding cache as it was when the run
    started (new vectors are returned in ``fresh``, and written by :func:`save_fresh`
    once the run is over), so any split of the cases across processes gives the same
    output bytes as one process.
    """
    texts = [u.text for u in case.units]
    has_question = np.array([bool(u.question) for u in case.units], dtype=bool)
    asked = list(dict.fromkeys(u.question for u in case.units if u.question))
    wanted = list(dict.fromkeys([*texts, *asked]))
    by_key, fresh = encoder.encode_deferred(wanted)
    vector_of = {t: by_key[text_key(t)] for t in wanted}
    dimension = len(next(iter(vector_of.values()))) if vector_of else 0
    unit_vectors = np.array([vector_of[t] for t in texts], dtype=np.float32).reshape(len(texts), dimension)
    question_vectors = np.zeros_like(unit_vectors)
    for i, unit in enumerate(case.units):
        if unit.question:
            question_vectors[i] = vector_of[unit.question]
    return CaseVectors(unit_vectors, question_vectors, has_question, fresh)


def reuse_earlier_vectors(
    case: PreparedCase, vectors: CaseVectors, run: dict[str, np.ndarray]
) -> CaseVectors:
    """Give a text that an earlier case of this run already encoded that case's vector.

    Call once per case, in case order, with the same ``run`` dict (filled here with the
    vectors each case computed): every text then has one vector per run, whichever
    worker encoded it first, and a re-run that reads them from the cache scores the same.
    """
    repeated = {k for k in vectors.fresh if k in run}
    if repeated:
        units, questions = vectors.units.copy(), vectors.questions.copy()
        for i, unit in enumerate(case.units):
            key = text_key(unit.text)
            if key in repeated:
                units[i] = run[key]
            if unit.question and (key := text_key(unit.question)) in repeated:
                questions[i] = run[key]
        vectors = CaseVectors(units, questions, vectors.has_question, vectors.fresh)
    for key, vector in vectors.fresh.items():
        run.setdefault(key, vector)
    return vectors


def save_fresh(encoder: Encoder, fresh: dict[str, np.ndarray]) -> None:
    """Write the vectors a run computed into the encoder's cache (if it has one)."""
    encoder.remember(fresh)


def classify_case(classifier, case: PreparedCase, vectors: CaseVectors, *, sequence: bool = True) -> list:
    """UnitProposals for one case's units from their vectors (any Proposer; the case alone decides)."""
    from transcode.classify import CaseUnits

    return classifier.propose(CaseUnits.of(case.units, vectors.as_tuple()), sequence=sequence)


def contract_record(unit: ThoughtUnit, proposal) -> dict:
    """One line of PROPOSALS.jsonl (docs/formats.md section 3)."""
    return {
        "case": unit.case,
        "unit": unit.unit_id,
        "text": unit.text,
        "turn": unit.turn,
        "question": unit.question,
        **proposal.as_contract(),
    }


def load_classifier(codebook: Codebook, model_path: str | Path | None = None, *, encoder=None):
    """The zero-shot proposer, or a trained one saved by ``transcode train``."""
    if model_path is not None:
        from transcode.classify.persist import load_model

        return load_model(model_path, codebook=codebook, encoder=encoder)
    from transcode.classify.proposer import zero_shot
    from transcode.embed import SentenceEncoder

    return zero_shot(codebook, encoder or SentenceEncoder())
