"""The one proposer: codebook evidence, an optional learned part, the sequence layer, calibration.

One scoring path for a case (its units in transcript order)::

    evidence (question + standardised answer)  ->  zero-shot probabilities
        [+ learned part: per-domain calibrated logistic regressions, blended by
           w = k / (k + positives), so a fresh project leans on the codebook]
    ->  sequence layer (forward-backward over the case's units; ``sequence=False`` skips it)
    ->  temperature  ->  per-domain thresholds  ->  suggested set

A :class:`DomainProposer` without learned weights is the zero-shot proposer (its
temperature and thresholds are defaults chosen on demo cases 01, 05 and 06); one
fitted by :func:`transcode.classify.trained.train` carries the learned weights,
transitions learned from consensus codes, and a temperature and thresholds fitted on
out-of-fold scores of its training data (thresholds maximising the one-key rate).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from transcode.classify import CaseUnits, UnitProposal
from transcode.classify.calibration import suggestion_mask, temper
from transcode.classify.evidence import (
    CodebookVectors,
    Evidence,
    EvidenceSettings,
    case_evidence,
    encode_units,
    softmax,
)
from transcode.classify.features import features
from transcode.classify.sequence import EMISSION_POWER, Transitions, prior_transitions, smooth
from transcode.codebook import Codebook

if TYPE_CHECKING:  # the learned part is fitted (and defined) in trained.py, which builds on this module
    from transcode.classify.trained import LearnedWeights

#: Pseudo-count of the zero-shot evidence in the blend when none is fitted: with k positives of
#: a domain the learned part weighs one half.
PRIOR_STRENGTH = 30.0
#: Zero-shot defaults (no coded data yet), chosen on demo cases 01, 05 and 06 for calibration
#: (temperature) and one-key rate (threshold), with and without the sequence layer.
ZERO_SHOT_TEMPERATURE = {"sequence": 1.35, "plain": 0.72}
ZERO_SHOT_THRESHOLD = {"sequence": 0.38, "plain": 0.3}


@dataclass(frozen=True)
class Calibration:
    """Temperature and per-domain thresholds of one path (with or without the sequence layer)."""

    temperature: float
    thresholds: np.ndarray

    @classmethod
    def default(cls, path: str, n_domains: int) -> Calibration:
        return cls(ZERO_SHOT_TEMPERATURE[path], np.full(n_domains, ZERO_SHOT_THRESHOLD[path]))


@dataclass
class DomainProposer:
    """Proposes domains for a case's units; see the module docstring for the scoring path."""

    codebook: Codebook
    encoder: Any
    settings: EvidenceSettings = field(default_factory=EvidenceSettings)
    transitions: Transitions | None = None
    calibration: dict[str, Calibration] = field(default_factory=dict)
    learned: LearnedWeights | None = None
    emission_power: float = EMISSION_POWER
    n_train: int = 0
    trained_on: str = ""
    metrics: dict = field(default_factory=dict)
    fit_seconds: float = 0.0
    _codebook_vectors: CodebookVectors | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        n = len(self.codebook.domains)
        if self.transitions is None:
            self.transitions = prior_transitions(n)
        for path in ("sequence", "plain"):
            self.calibration.setdefault(path, Calibration.default(path, n))
        self.calibration = {
            path: Calibration(
                float(np.float32(c.temperature)),
                np.asarray(c.thresholds, dtype=np.float32).astype(np.float64),
            )
            for path, c in self.calibration.items()
        }
        self.transitions = Transitions(
            *(np.asarray(a, dtype=np.float32).astype(np.float64) for a in self.transitions.arrays.values())
        )

    @property
    def domain_ids(self) -> list[str]:
        return self.codebook.domain_ids

    @property
    def codebook_vectors(self) -> CodebookVectors:
        if self._codebook_vectors is None:
            self._codebook_vectors = CodebookVectors(self.codebook, self.encoder)
        return self._codebook_vectors

    @property
    def version(self) -> str:
        """Content-derived, so a saved and reloaded proposer reports the same version."""
        if self.learned is None and self.n_train == 0:
            settings = hashlib.sha256(repr(sorted(self.settings.as_dict().items())).encode()).hexdigest()[:6]
            return f"zeroshot:{self.codebook.fingerprint()}:{self.encoder.model_id}:{settings}"
        return f"trained:{content_hash(self)}"

    def thresholds(self, sequence: bool = True) -> np.ndarray:
        return self.calibration["sequence" if sequence else "plain"].thresholds

    def evidence(self, case: CaseUnits, vectors=None) -> Evidence:
        """The codebook's evidence for a case's units (question, answer, and how far the question counts)."""
        unit_vectors, question_vectors, has_question = vectors or self._vectors(case)
        return case_evidence(
            self.codebook_vectors,
            unit_vectors,
            question_vectors,
            has_question,
            case.turns,
            self.settings,
            self.learned.exemplars if self.learned is not None else None,
        )

    def _vectors(self, case: CaseUnits):
        return case.vectors or encode_units(self.encoder, case.texts, case.questions)

    def emissions(self, case: CaseUnits) -> tuple[np.ndarray, np.ndarray]:
        """Per-unit probabilities over the states (domains, then "other") before the sequence layer,
        and each question's informativeness."""
        vectors = self._vectors(case)
        unit_vectors, question_vectors, _ = vectors
        if len(case) == 0:
            return np.zeros((0, len(self.domain_ids) + 1)), np.zeros(0)
        evidence = self.evidence(case, vectors)
        probabilities = zero_shot_states(evidence.logits, self.settings)
        if self.learned is not None:
            x = features(
                unit_vectors,
                question_vectors,
                case.turns,
                self.learned.lexical.transform(case.texts, case.questions),
            )
            probabilities = self.learned.blend(probabilities, self.learned.proba(x))
        return probabilities, evidence.informativeness

    def score(self, case: CaseUnits, *, sequence: bool = True) -> np.ndarray:
        """Calibrated scores (n_units x n_domains): each domain's probability; the rest is "other"."""
        sequence = reads_as_sequence(case, sequence)
        probabilities, informativeness = self.emissions(case)
        return self.finish(probabilities, informativeness, case.turns, sequence=sequence)[:, :-1]

    def finish(self, probabilities, informativeness, turns, *, sequence: bool = True) -> np.ndarray:
        """The end of the path over the states: the sequence layer (if asked) and the temperature."""
        if sequence and len(probabilities):
            assert self.transitions is not None
            probabilities = smooth(
                probabilities, turns, informativeness, self.transitions, power=self.emission_power
            )
        return temper(probabilities, self.calibration["sequence" if sequence else "plain"].temperature)

    def propose(self, case: CaseUnits, *, sequence: bool = True) -> list[UnitProposal]:
        sequence = reads_as_sequence(case, sequence)
        scores = self.score(case, sequence=sequence)
        return proposals_from_scores(scores, self.domain_ids, self.version, self.thresholds(sequence))


def reads_as_sequence(case: CaseUnits, sequence: bool) -> bool:
    """The sequence layer needs a case with turns: one answer alone (a snippet) is scored as it is."""
    return sequence and len(set(case.turns)) > 1


def zero_shot_states(logits: np.ndarray, settings: EvidenceSettings) -> np.ndarray:
    """The codebook evidence as probabilities over the domains and "other" (a constant logit)."""
    other = np.full((len(logits), 1), settings.other_logit)
    return softmax(np.hstack([logits, other]))


def zero_shot(codebook: Codebook, encoder) -> DomainProposer:
    """The proposer before anyone has coded: the codebook's evidence and the default calibration."""
    return DomainProposer(codebook, encoder)


def content_hash(proposer: DomainProposer) -> str:
    """Hash of every number that changes what the proposer scores (twelve hex digits)."""
    digest = hashlib.sha256()
    arrays = [np.asarray(a) for a in proposer.transitions.arrays.values()] if proposer.transitions else []
    for path in sorted(proposer.calibration):
        arrays += [np.array([proposer.calibration[path].temperature]), proposer.calibration[path].thresholds]
    if proposer.learned is not None:
        arrays += [proposer.learned.coef, proposer.learned.intercept, proposer.learned.platt]
        if proposer.learned.exemplars is not None:
            arrays.append(proposer.learned.exemplars.centroids)
    for array in arrays:
        digest.update(np.ascontiguousarray(array, dtype=np.float32).tobytes())
    digest.update(repr(sorted(proposer.settings.as_dict().items())).encode())
    return digest.hexdigest()[:12]


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(x, -50, 50)))


def proposals_from_scores(
    scores: np.ndarray, domain_ids, version: str, thresholds: np.ndarray
) -> list[UnitProposal]:
    """Rank every domain; suggest those at or over their threshold."""
    chosen = suggestion_mask(scores, thresholds) if len(scores) else np.zeros((0, len(domain_ids)), bool)
    out = []
    for row, picked in zip(scores, chosen, strict=True):
        order = np.argsort(-row, kind="stable")
        ranked = tuple((domain_ids[j], float(row[j])) for j in order)
        suggested = tuple(domain_ids[j] for j in order if picked[j])
        out.append(UnitProposal(ranked, suggested, version))
    return out
