"""Zero-shot evidence from the codebook: what the interviewer asked, and what the participant said.

The two kinds of evidence are kept apart, because they fail differently:

* **Question evidence**: the cosine of the interviewer's question to each domain's
  protocol questions (the best of them). Only the protocol questions: mixing in the
  question's similarity to the domain *descriptions* cost up to 0.19 top-1 on a real
  protocol ("your part in it" resembles the description of another domain more than
  its own question). A domain without protocol questions falls back to its
  description; a codebook without any gives no question evidence at all.
* **Answer evidence**: the cosine of the unit to the domain's description and
  questions. As a raw cosine it is close to noise, and a broad domain ("context")
  resembles everything. So it is standardised per case, domain by domain over the
  case's units (a unit's evidence for a domain counts relative to the rest of its
  interview), and averaged over the participant turn (the units of one answer
  usually share a domain).

Two weights decide how far the question is believed:

* **Informativeness**: a neutral probe ("Can you say more about that?") matches no
  protocol question; its evidence fades (a logistic curve in its best match), and
  the sequence layer carries the previous domain across it instead.
* **The override gate**: when the answer's own evidence is decisive (the top-two
  margin of its standardised evidence, in standard deviations), the question's
  weight falls, since participants often answer one question with material that
  belongs to another domain.

The constants are :class:`EvidenceSettings`; their defaults were chosen on demo
cases 01, 05 and 06 only (see ``models/README.md`` for the other nine).
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import asdict, dataclass, fields

import numpy as np

from transcode.codebook import Codebook


@dataclass(frozen=True)
class EvidenceSettings:
    """How question and answer evidence become one score per domain (cosines are MiniLM's)."""

    #: Best protocol-question cosine at which a question counts as half informative.
    question_centre: float = 0.35
    #: Width of that logistic curve (cosine units).
    question_spread: float = 0.05
    #: Softmax temperature of the question evidence (cosine units).
    question_temperature: float = 0.15
    #: Weight of the standardised answer evidence (per standard deviation).
    answer_weight: float = 0.75
    #: Share of a unit's own answer evidence next to its turn's mean.
    answer_own_share: float = 0.3
    #: The answer overrides the question once its top-two logit margin passes this plus the question's.
    decisive_margin: float = 1.0
    #: Pseudo-units that pull a small case's mean and spread towards the case-wide values.
    standardise_strength: float = 5.0
    #: Logit of "other" (the unit is in no domain) next to the domains' logits (the best is about 0).
    other_logit: float = -1.0

    def as_dict(self) -> dict[str, float]:
        return {k: float(v) for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, values: dict) -> EvidenceSettings:
        names = {f.name for f in fields(cls)}
        unknown = set(values) - names
        if unknown:
            raise ValueError(f"unknown evidence settings {sorted(unknown)}")
        return cls(**{k: float(v) for k, v in values.items()})


def encode_units(encoder, texts: Sequence[str], questions: Sequence[str | None]):
    """Unit vectors, question vectors (zeros where there is no question) and the has-question mask."""
    has_question = np.array([bool(q) for q in questions], dtype=bool)
    asked = [q for q in questions if q]
    # One call: the encoder dedupes (a question precedes several units) and length-sorts all texts together.
    vectors = encoder.encode([*texts, *asked])
    unit_vectors = vectors[: len(texts)]
    question_vectors = np.zeros_like(unit_vectors)
    if asked:
        question_vectors[has_question] = vectors[len(texts) :]
    return unit_vectors, question_vectors, has_question


class CodebookVectors:
    """The codebook's texts as vectors: each domain's name + description, and its protocol questions."""

    def __init__(self, codebook: Codebook, encoder):
        texts = [[f"{d.name}. {d.description}".strip(), *d.questions] for d in codebook.domains]
        vectors = encoder.encode([t for group in texts for t in group])
        descriptions: list[np.ndarray] = []
        self.questions: list[np.ndarray] = []
        offset = 0
        for group in texts:
            descriptions.append(vectors[offset])
            self.questions.append(vectors[offset + 1 : offset + len(group)])
            offset += len(group)
        self.description = np.stack(descriptions)
        self.has_protocol = any(len(q) for q in self.questions)

    @property
    def n_domains(self) -> int:
        return len(self.description)

    def question_similarity(self, question_vectors: np.ndarray) -> np.ndarray:
        """Best cosine of each question to each domain's protocol questions (description if it has none)."""
        return np.stack(
            [
                (question_vectors @ (q if len(q) else self.description[j : j + 1]).T).max(axis=1)
                for j, q in enumerate(self.questions)
            ],
            axis=1,
        )

    def answer_similarity(self, unit_vectors: np.ndarray) -> np.ndarray:
        """Cosine of each unit to each domain's description, averaged with its best protocol question."""
        described = unit_vectors @ self.description.T
        asked = np.stack(
            [
                (unit_vectors @ q.T).max(axis=1) if len(q) else described[:, j]
                for j, q in enumerate(self.questions)
            ],
            axis=1,
        )
        return 0.5 * described + 0.5 * asked


#: Pseudo-count of the codebook in a domain's answer evidence next to the team's examples of it:
#: with this many confirmed units, the examples' centroid weighs as much as the codebook's texts
#: (chosen from 5 and 20 on the demo's learning curve at 100 units, leave-one-case-out).
EXEMPLAR_STRENGTH = 5.0
#: A domain's centroid is kept only from this many examples on: a model file never holds the
#: vector of one unit.
MIN_EXEMPLARS = 3


@dataclass(frozen=True)
class Exemplars:
    """The team's confirmed units as answer evidence: each domain's centroid, weighed by its count.

    The codebook describes a domain in the researchers' words; the confirmed units show
    how participants talk about it. From the first coded transcript on, before a learner
    has enough cases to be fitted, a unit's similarity to those centroids joins its
    similarity to the codebook's texts.
    """

    centroids: np.ndarray  # (n_domains, d): unit length, zero where a domain has no example
    counts: np.ndarray  # (n_domains,)

    @classmethod
    def of(cls, unit_vectors: np.ndarray, labels: np.ndarray) -> Exemplars:
        counts = labels.sum(axis=0).astype(float)
        counts[counts < MIN_EXEMPLARS] = 0.0
        sums = (labels * (counts > 0)).T.astype(float) @ unit_vectors
        norms = np.linalg.norm(sums, axis=1, keepdims=True)
        centroids = np.divide(sums, norms, out=np.zeros_like(sums), where=norms > 0)
        return cls(np.asarray(centroids, dtype=np.float32).astype(np.float64), counts)

    @classmethod
    def from_centroids(cls, centroids: np.ndarray, positives: np.ndarray) -> Exemplars:
        """Rebuilt from a model file: a domain's count is its positives where it has a centroid."""
        kept = np.linalg.norm(centroids, axis=1) > 0
        return cls(np.asarray(centroids, dtype=np.float64), np.where(kept, positives, 0).astype(float))

    def mix(self, unit_vectors: np.ndarray, similarity: np.ndarray) -> np.ndarray:
        weight = self.counts / (self.counts + EXEMPLAR_STRENGTH)
        return (1 - weight) * similarity + weight * (unit_vectors @ self.centroids.T)


def turn_spans(turns: Sequence[Hashable]) -> list[tuple[int, int]]:
    """[start, end) index ranges of consecutive units that share a turn number."""
    spans, start = [], 0
    for i in range(1, len(turns) + 1):
        if i == len(turns) or turns[i] != turns[start]:
            spans.append((start, i))
            start = i
    return spans


def turn_mean(values: np.ndarray, turns: Sequence[Hashable]) -> np.ndarray:
    """Each row replaced by the mean of its turn's rows."""
    out = np.empty_like(values, dtype=float)
    for start, end in turn_spans(turns):
        out[start:end] = values[start:end].mean(axis=0)
    return out


def standardise(evidence: np.ndarray, strength: float) -> np.ndarray:
    """Domain by domain over the case's units, shrunk towards the case-wide mean and spread.

    With many units each domain is standardised on its own (a domain that resembles
    everything loses its head start); with one unit the ranking of its raw evidence
    is kept (``strength`` pseudo-units of the case-wide values).
    """
    n = len(evidence)
    if n == 0:
        return evidence.astype(float)
    overall_mean, overall_var = float(evidence.mean()), float(evidence.var())
    mean = (n * evidence.mean(axis=0) + strength * overall_mean) / (n + strength)
    var = (n * evidence.var(axis=0) + strength * overall_var) / (n + strength)
    return (evidence - mean) / np.sqrt(var + 1e-12)


def informativeness(
    similarity: np.ndarray, has_question: np.ndarray, settings: EvidenceSettings
) -> np.ndarray:
    """How much a question says about the domain: 0 for a neutral probe or none, ~1 for a protocol one."""
    if similarity.size == 0:
        return np.zeros(len(similarity))
    best = similarity.max(axis=1)
    weight = 1.0 / (1.0 + np.exp(-(best - settings.question_centre) / settings.question_spread))
    return np.where(np.asarray(has_question, dtype=bool), weight, 0.0)


def margin(values: np.ndarray) -> np.ndarray:
    """The gap between each row's best and second-best value."""
    if values.shape[1] < 2:
        return np.full(len(values), np.inf)
    top_two = -np.sort(-values, axis=1)[:, :2]
    return top_two[:, 0] - top_two[:, 1]


def override_gate(answer: np.ndarray, asked: np.ndarray, settings: EvidenceSettings) -> np.ndarray:
    """1 for ordinary answers, falling towards 0 as the answer's evidence outweighs the question's.

    Both margins are in logits: the answer overrides when its own top-two margin passes
    ``decisive_margin`` plus the question's margin, so an answer needs more to override a
    question that clearly asks about one domain than a vague follow-up.
    """
    if answer.shape[1] < 2 or settings.decisive_margin <= 0:
        return np.ones(len(answer))
    return 1.0 / (1.0 + (margin(answer) / (settings.decisive_margin + margin(asked))) ** 4)


@dataclass(frozen=True)
class Evidence:
    """A case's zero-shot evidence: logits per domain, and per unit how far its question was believed."""

    logits: np.ndarray  # (n_units, n_domains)
    informativeness: np.ndarray  # (n_units,): the question's own informativeness (sequence layer)
    question_weight: np.ndarray  # (n_units,): informativeness x override gate (what the logits used)


def case_evidence(
    codebook_vectors: CodebookVectors,
    unit_vectors: np.ndarray,
    question_vectors: np.ndarray,
    has_question: np.ndarray,
    turns: Sequence[int],
    settings: EvidenceSettings,
    exemplars: Exemplars | None = None,
) -> Evidence:
    """Question and answer evidence of one case's units (in transcript order), combined into logits."""
    similarity = codebook_vectors.answer_similarity(unit_vectors)
    if exemplars is not None:
        similarity = exemplars.mix(unit_vectors, similarity)
    answer = standardise(similarity, settings.standardise_strength)
    own = settings.answer_own_share
    answer = own * answer + (1 - own) * turn_mean(answer, turns)
    logits = settings.answer_weight * answer
    if not codebook_vectors.has_protocol:
        zero = np.zeros(len(unit_vectors))
        return Evidence(logits, zero, zero)
    asked_like = codebook_vectors.question_similarity(question_vectors)
    informative = informativeness(asked_like, has_question, settings)
    asked = (asked_like - asked_like.max(axis=1, keepdims=True)) / settings.question_temperature
    weight = informative * override_gate(logits, informative[:, None] * asked, settings)
    return Evidence(logits + weight[:, None] * asked, informative, weight)


def softmax(logits: np.ndarray) -> np.ndarray:
    if logits.size == 0:
        return np.zeros_like(logits, dtype=float)
    z = logits - logits.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)
