"""What the learned part of a proposer sees of a unit: sentence vectors, its context, and its words.

Six blocks side by side:

* the unit's and its question's sentence vectors;
* the **context block**: the mean vector of the unit's participant turn (the rest of
  the answer) and the previous unit's vector (where the account came from); on the
  demo it lifted top-1 from 0.80 to 0.83 with all data, and from 0.72 to 0.76 at
  100 units;
* TF-IDF of the unit and of the question (words and bigrams): the study's own
  vocabulary, which a general-purpose encoder blurs; on AnnoMI these carry most of
  the gain.

The context is computed within a case only (units in transcript order).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy.sparse import csr_matrix, hstack
from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer

from transcode.classify.evidence import turn_mean

#: Lexical vocabulary cap per block (unit text, question text).
MAX_TERMS = 20000
#: Sentence-vector blocks: unit, question, turn mean, previous unit.
DENSE_BLOCKS = 4
#: Words of two or more characters, and question and exclamation marks: how a turn is said
#: ("So you feel...?") is part of what some codes mean (AnnoMI's questions vs reflections).
TOKEN_PATTERN = r"(?u)\b\w\w+\b|[?!]"


def _terms_in_two_cases(corpus: Sequence[str], groups: Sequence[str] | None) -> list[str]:
    """Words and bigrams found in at least two cases (two units without case ids), most widespread first."""
    counter = CountVectorizer(ngram_range=(1, 2), binary=True, token_pattern=TOKEN_PATTERN)
    per_unit = counter.fit_transform(corpus)
    if groups is not None and len(set(groups)) >= 2:
        labels = np.unique(np.asarray(list(groups)), return_inverse=True)[1]
        membership = csr_matrix((np.ones(len(labels)), (labels, np.arange(len(labels)))))
        counts = np.asarray(((membership @ per_unit) > 0).sum(axis=0)).ravel()
    else:
        counts = np.asarray(per_unit.sum(axis=0)).ravel()
    terms = counter.get_feature_names_out()
    order = np.argsort(-counts, kind="stable")
    kept = [terms[k] for k in order[:MAX_TERMS] if counts[k] >= 2]
    if not kept:
        raise ValueError("no term is shared by two cases")
    return sorted(kept)


class LexicalFeatures:
    """TF-IDF of unit and question text; its state is plain vocabularies and idf arrays (no pickle)."""

    def __init__(
        self,
        vocabulary_text: Sequence[str] = (),
        idf_text: np.ndarray | None = None,
        vocabulary_question: Sequence[str] = (),
        idf_question: np.ndarray | None = None,
    ):
        self.blocks = [
            self._vectorizer(vocabulary_text, idf_text),
            self._vectorizer(vocabulary_question, idf_question),
        ]

    @staticmethod
    def _vectorizer(vocabulary: Sequence[str], idf: np.ndarray | None) -> TfidfVectorizer | None:
        if not len(vocabulary):
            return None
        vectorizer = TfidfVectorizer(
            ngram_range=(1, 2), sublinear_tf=True, vocabulary=list(vocabulary), token_pattern=TOKEN_PATTERN
        )
        vectorizer.idf_ = np.asarray(idf, dtype=np.float64)
        return vectorizer

    @classmethod
    def fit(
        cls, texts: Sequence[str], questions: Sequence[str | None], groups: Sequence[str] | None = None
    ) -> LexicalFeatures:
        """Fit both vocabularies, keeping only terms used in at least two cases.

        A model folder stores its vocabulary in plain text, so a word that only
        one case uses (a name, a place the de-identifier missed) must never get in.
        """
        fitted: list = []
        for corpus in (list(texts), [q or "" for q in questions]):
            try:
                shared = _terms_in_two_cases(corpus, groups)
                vectorizer = TfidfVectorizer(
                    ngram_range=(1, 2), sublinear_tf=True, vocabulary=shared, token_pattern=TOKEN_PATTERN
                )
                vectorizer.fit(corpus)
            except ValueError:  # no words at all (e.g. no questions), or none shared
                fitted += [(), None]
                continue
            vocabulary = sorted(vectorizer.vocabulary_, key=vectorizer.vocabulary_.get)
            fitted += [vocabulary, vectorizer.idf_.astype(np.float32)]
        return cls(*fitted)

    @property
    def state(self) -> tuple[list[str], np.ndarray, list[str], np.ndarray]:
        out: list = []
        for block in self.blocks:
            if block is None:
                out += [[], np.zeros(0, dtype=np.float32)]
            else:
                out += [list(block.vocabulary), np.asarray(block.idf_, dtype=np.float32)]
        return (out[0], out[1], out[2], out[3])

    @property
    def n_features(self) -> int:
        return sum(len(b.vocabulary) for b in self.blocks if b is not None)

    def transform(self, texts: Sequence[str], questions: Sequence[str | None]):
        parts = []
        for block, corpus in zip(self.blocks, (list(texts), [q or "" for q in questions]), strict=True):
            if block is not None:
                parts.append(block.transform(corpus))
        return hstack(parts).tocsr() if parts else csr_matrix((len(texts), 0))


def context_block(
    unit_vectors: np.ndarray, turns: Sequence[int], cases: Sequence[str] | None = None
) -> np.ndarray:
    """Per unit: its turn's mean vector and the previous unit's vector (zeros at a case's start)."""
    cases = list(cases) if cases is not None else [""] * len(unit_vectors)
    turn_keys = [f"{c}\x00{t}" for c, t in zip(cases, turns, strict=True)]
    previous = np.zeros_like(unit_vectors)
    for i in range(1, len(unit_vectors)):
        if cases[i] == cases[i - 1]:
            previous[i] = unit_vectors[i - 1]
    return np.hstack([turn_mean(unit_vectors, turn_keys), previous])


def features(
    unit_vectors: np.ndarray,
    question_vectors: np.ndarray,
    turns: Sequence[int],
    lexical,
    cases: Sequence[str] | None = None,
):
    """All blocks side by side, as one sparse matrix (units in case and transcript order)."""
    dense = np.hstack([unit_vectors, question_vectors, context_block(unit_vectors, turns, cases)])
    return hstack([csr_matrix(dense.astype(np.float64)), lexical]).tocsr()
