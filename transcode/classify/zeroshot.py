"""Cold-start proposals: similarity of a unit, and of the question before it, to each domain.

Interviews follow their protocol, so the interviewer's question is strong
evidence for the domain; the answer's own content weighs more, so it overrides
the question when the two disagree (participants often answer one question with
material that belongs to another domain).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from transcode.classify import UnitProposal
from transcode.codebook import Codebook

CONTENT_WEIGHT = 1.0
QUESTION_WEIGHT = 0.5
TEMPERATURE = 0.04
#: A domain is suggested when its score reaches this share of the top score.
RELATIVE_CUTOFF = 0.5
#: ...and the top score itself must reach this, else nothing is suggested ("other").
MIN_TOP_SCORE = 0.2


def domain_texts(codebook: Codebook) -> list[list[str]]:
    """For each domain: its name with description, then each protocol question."""
    return [[f"{d.name}. {d.description}".strip(), *d.questions] for d in codebook.domains]


class ZeroShotClassifier:
    def __init__(self, codebook: Codebook, encoder):
        self.codebook = codebook
        self.encoder = encoder
        self.version = f"zeroshot:{codebook.fingerprint()}:{encoder.model_id}"
        texts = domain_texts(codebook)
        flat = [t for group in texts for t in group]
        vectors = encoder.encode(flat)
        self._description = []
        self._questions = []
        i = 0
        for group in texts:
            self._description.append(vectors[i])
            q = vectors[i + 1:i + len(group)]
            self._questions.append(q if len(q) else vectors[i:i + 1])
            i += len(group)
        self._description = np.stack(self._description)

    def similarities(self, unit_vectors: np.ndarray, question_vectors: np.ndarray | None) -> np.ndarray:
        """Raw evidence per domain (n_units x n_domains), before the softmax."""
        content = 0.5 * unit_vectors @ self._description.T
        content += 0.5 * np.stack([(unit_vectors @ q.T).max(axis=1) for q in self._questions], axis=1)
        logits = CONTENT_WEIGHT * content
        if question_vectors is not None:
            asked = np.stack([(question_vectors @ q.T).max(axis=1) for q in self._questions], axis=1)
            logits = logits + QUESTION_WEIGHT * asked
        return logits

    def predict_proba(self, texts: Sequence[str], questions: Sequence[str | None]) -> np.ndarray:
        unit_vectors = self.encoder.encode(list(texts))
        question_vectors = self.encoder.encode([q or "" for q in questions])
        has_question = np.array([bool(q) for q in questions])[:, None]
        logits = self.similarities(unit_vectors, question_vectors)
        plain = self.similarities(unit_vectors, None)
        logits = np.where(has_question, logits, plain)
        z = (logits - logits.max(axis=1, keepdims=True)) / TEMPERATURE
        e = np.exp(z)
        return e / e.sum(axis=1, keepdims=True)

    def propose(self, texts: Sequence[str], questions: Sequence[str | None]) -> list[UnitProposal]:
        probabilities = self.predict_proba(texts, questions)
        return proposals_from_scores(probabilities, self.codebook.domain_ids, self.version)


def proposals_from_scores(scores: np.ndarray, domain_ids: Sequence[str], version: str,
                          thresholds: Sequence[float] | None = None) -> list[UnitProposal]:
    """Rank every domain; suggest those over their threshold (or the relative cutoff)."""
    out = []
    for row in scores:
        order = np.argsort(-row, kind="stable")
        ranked = tuple((domain_ids[j], float(row[j])) for j in order)
        if thresholds is not None:
            suggested = tuple(domain_ids[j] for j in order if row[j] >= thresholds[j])
        else:
            top = float(row[order[0]])
            suggested = tuple(domain_ids[j] for j in order
                              if top >= MIN_TOP_SCORE and row[j] >= RELATIVE_CUTOFF * top)
        out.append(UnitProposal(ranked, suggested, version))
    return out
