"""The learner: domain proposals trained on coders' confirmed codes, blended with the zero-shot prior.

One class-balanced logistic regression per domain (a unit may be in several
domains or none) on four blocks of unit length: the unit's and the question's
sentence vectors, and their TF-IDF vectors (words and bigrams). The lexical
blocks carry the study's own vocabulary, which a general-purpose encoder
blurs: on the first seven demo cases, leave-one-case-out, they lifted
micro-F1 from 0.70 to 0.72. Each regression is Platt-calibrated on
out-of-fold decision values. Its probability is blended with the zero-shot prior by a weight that shrinks
as that domain's confirmed examples grow::

    p = w * prior + (1 - w) * learned,   w = k / (k + positives)

so a fresh project leans on the codebook and a coded one on its coders. Each
domain's threshold is the highest score that still reaches the target recall
on out-of-fold predictions (coders confirm proposals, so a missed domain costs
more than an extra suggestion).

Only consensus codes train the shared model (see
:func:`transcode.classify.examples.consensus_examples`).
"""

from __future__ import annotations

import hashlib
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from scipy.sparse import csr_matrix, hstack
from sklearn.exceptions import ConvergenceWarning
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GroupKFold, KFold

from transcode.classify import UnitProposal
from transcode.classify.examples import LabelledUnit, label_matrix
from transcode.classify.zeroshot import ZeroShotClassifier, encode_units, proposals_from_scores
from transcode.codebook import Codebook

#: Pseudo-count of the zero-shot prior: with k positives of a domain the learned part weighs one half.
PRIOR_STRENGTH = 10.0
#: Per-domain thresholds aim at this recall on out-of-fold predictions. 0.7 balanced precision
#: (0.68) and recall (0.71) on the first seven demo cases, leave-one-case-out; 0.8 gave recall
#: 0.81 at precision 0.53.
TARGET_RECALL = 0.7
#: Inverse regularisation strength of each domain's logistic regression.
REGULARISATION_C = 1.0
#: Threshold of a domain with too few examples to choose one from data.
FALLBACK_THRESHOLD = 0.4
#: A domain needs this many positive and negative examples before it is learned at all.
MIN_EXAMPLES_PER_CLASS = 5
CV_FOLDS = 5
#: Lexical vocabulary cap per block (unit text, question text).
MAX_TERMS = 20000


def _terms_in_two_cases(corpus: Sequence[str], groups: Sequence[str] | None) -> list[str]:
    """Words and bigrams found in at least two cases (two units without case ids), most widespread first."""
    from sklearn.feature_extraction.text import CountVectorizer

    counter = CountVectorizer(ngram_range=(1, 2), binary=True)
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
        vectorizer = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, vocabulary=list(vocabulary))
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
        fitted: list[Any] = []
        for corpus in (list(texts), [q or "" for q in questions]):
            try:
                shared = _terms_in_two_cases(corpus, groups)
                vectorizer = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, vocabulary=shared)
                vectorizer.fit(corpus)
            except ValueError:  # no words at all (e.g. no questions), or none shared
                fitted += [(), None]
                continue
            vocabulary = sorted(vectorizer.vocabulary_, key=vectorizer.vocabulary_.get)
            fitted += [vocabulary, vectorizer.idf_.astype(np.float32)]
        return cls(*fitted)

    @property
    def state(self) -> tuple[list[str], np.ndarray, list[str], np.ndarray]:
        out: list[Any] = []
        for block in self.blocks:
            if block is None:
                out += [[], np.zeros(0, dtype=np.float32)]
            else:
                out += [list(block.vocabulary), np.asarray(block.idf_, dtype=np.float32)]
        return out[0], out[1], out[2], out[3]

    @property
    def n_features(self) -> int:
        return sum(len(b.vocabulary) for b in self.blocks if b is not None)

    def transform(self, texts: Sequence[str], questions: Sequence[str | None]):
        parts = []
        for block, corpus in zip(self.blocks, (list(texts), [q or "" for q in questions]), strict=True):
            if block is not None:
                parts.append(block.transform(corpus))
        return hstack(parts).tocsr() if parts else csr_matrix((len(texts), 0))


@dataclass
class DomainModel:
    """A trained proposer: per-domain weights, calibration and thresholds, plus the zero-shot prior."""

    codebook: Codebook
    encoder: object
    coef: np.ndarray  # (n_domains, 2 * dim + lexical terms)
    intercept: np.ndarray  # (n_domains,)
    calibration: np.ndarray  # (n_domains, 2): Platt slope and offset on the decision value
    thresholds: np.ndarray  # (n_domains,)
    positives: np.ndarray  # (n_domains,) confirmed examples per domain
    learned: np.ndarray  # (n_domains,) bool: enough examples to learn this domain
    n_train: int
    prior_strength: float = PRIOR_STRENGTH
    target_recall: float = TARGET_RECALL
    regularisation_c: float = REGULARISATION_C
    metrics: dict = field(default_factory=dict)
    trained_on: str = ""
    fit_seconds: float = 0.0
    lexical: LexicalFeatures = field(default_factory=LexicalFeatures)
    _zeroshot: ZeroShotClassifier | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        # Arrays are stored as float32: round them now, so a reloaded model scores exactly the same.
        for name in ("coef", "intercept", "calibration", "thresholds"):
            setattr(self, name, np.asarray(getattr(self, name), dtype=np.float32).astype(np.float64))
        self.positives = np.asarray(self.positives, dtype=np.int64)
        self.learned = np.asarray(self.learned, dtype=bool)

    @property
    def domain_ids(self) -> list[str]:
        return self.codebook.domain_ids

    @property
    def zeroshot(self) -> ZeroShotClassifier:
        if self._zeroshot is None:
            self._zeroshot = ZeroShotClassifier(self.codebook, self.encoder)
        return self._zeroshot

    @property
    def version(self) -> str:
        """Content-derived, so a saved and reloaded model reports the same version."""
        return model_version(self.coef, self.intercept, self.calibration, self.thresholds)

    def prior_weight(self) -> np.ndarray:
        weight = self.prior_strength / (self.prior_strength + self.positives.astype(float))
        return np.where(self.learned, weight, 1.0)

    def learned_proba(self, x) -> np.ndarray:
        decision = np.asarray(x @ self.coef.T) + self.intercept
        return _sigmoid(self.calibration[:, 0] * decision + self.calibration[:, 1])

    def score(self, texts: Sequence[str], questions: Sequence[str | None], vectors=None) -> np.ndarray:
        """Blended scores (n_units x n_domains); ``vectors`` from :func:`encode_units` if already known."""
        unit_vectors, question_vectors, has_question = vectors or encode_units(self.encoder, texts, questions)
        prior = self.zeroshot.proba_from_vectors(unit_vectors, question_vectors, has_question)
        if len(texts) == 0:
            return prior
        x = features(unit_vectors, question_vectors, self.lexical.transform(texts, questions))
        weight = self.prior_weight()
        return weight * prior + (1 - weight) * self.learned_proba(x)

    def predict_proba(self, texts: Sequence[str], questions: Sequence[str | None]) -> np.ndarray:
        return self.score(texts, questions)

    def propose(self, texts: Sequence[str], questions: Sequence[str | None]) -> list[UnitProposal]:
        """Every domain ranked; suggested = the domains over their own threshold (maybe none)."""
        scores = self.predict_proba(texts, questions)
        return proposals_from_scores(scores, self.domain_ids, self.version, self.thresholds)


def model_version(*arrays: np.ndarray) -> str:
    digest = hashlib.sha256()
    for array in arrays:
        digest.update(np.ascontiguousarray(array, dtype=np.float32).tobytes())
    return f"trained:{digest.hexdigest()[:12]}"


def features(unit_vectors: np.ndarray, question_vectors: np.ndarray, lexical):
    """The four feature blocks side by side, as one sparse matrix."""
    return hstack(
        [csr_matrix(np.hstack([unit_vectors, question_vectors]).astype(np.float64)), lexical]
    ).tocsr()


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(x, -50, 50)))


def train(
    examples: Sequence[LabelledUnit],
    codebook: Codebook,
    encoder,
    *,
    target_recall: float = TARGET_RECALL,
    prior_strength: float = PRIOR_STRENGTH,
    regularisation_c: float = REGULARISATION_C,
    previous: DomainModel | None = None,
    trained_on: str = "",
) -> DomainModel:
    """Fit a :class:`DomainModel` on confirmed examples (their domains; empty means "other")."""
    if not examples:
        from transcode.errors import InputError

        raise InputError("no confirmed examples to train on")
    texts = [e.text for e in examples]
    questions = [e.question for e in examples]
    vectors = encode_units(encoder, texts, questions)
    groups = [e.case for e in examples]
    y = label_matrix(examples, codebook.domain_ids)
    return fit_vectors(
        vectors,
        texts,
        questions,
        y,
        codebook,
        encoder,
        groups=groups,
        target_recall=target_recall,
        prior_strength=prior_strength,
        regularisation_c=regularisation_c,
        previous=previous,
        trained_on=trained_on,
    )


def fit_vectors(
    vectors: tuple[np.ndarray, np.ndarray, np.ndarray],
    texts: Sequence[str],
    questions: Sequence[str | None],
    y: np.ndarray,
    codebook: Codebook,
    encoder,
    *,
    groups: Sequence[str] | None = None,
    target_recall: float = TARGET_RECALL,
    prior_strength: float = PRIOR_STRENGTH,
    regularisation_c: float = REGULARISATION_C,
    previous: DomainModel | None = None,
    zeroshot: ZeroShotClassifier | None = None,
    trained_on: str = "",
) -> DomainModel:
    """The pure core of :func:`train`, on precomputed vectors (evaluation reuses them across folds)."""
    started = time.perf_counter()
    unit_vectors, question_vectors, has_question = vectors
    lexical = LexicalFeatures.fit(texts, questions, groups)
    x = features(unit_vectors, question_vectors, lexical.transform(texts, questions))
    n, n_domains = y.shape
    zeroshot = zeroshot or ZeroShotClassifier(codebook, encoder)
    prior = zeroshot.proba_from_vectors(unit_vectors, question_vectors, has_question)
    positives = y.sum(axis=0).astype(np.int64)
    learned = (positives >= MIN_EXAMPLES_PER_CLASS) & (n - positives >= MIN_EXAMPLES_PER_CLASS)
    coef = np.zeros((n_domains, x.shape[1]))
    intercept = np.zeros(n_domains)
    calibration = np.zeros((n_domains, 2))
    thresholds = np.full(n_domains, FALLBACK_THRESHOLD)
    folds = _folds(n, groups)
    weight = np.where(learned, prior_strength / (prior_strength + positives), 1.0)
    warm = _aligned_coef(previous, lexical, unit_vectors.shape[1]) if previous is not None else None
    for j in np.flatnonzero(learned):
        start = (
            (warm[j], previous.intercept[j])
            if warm is not None and previous is not None and previous.learned[j]
            else None
        )
        model = _fit_domain(x, y[:, j], regularisation_c, start)
        coef[j], intercept[j] = model.coef_[0], model.intercept_[0]
        decision_oof = _out_of_fold_decisions(x, y[:, j], folds, regularisation_c, model)
        calibration[j] = _platt(decision_oof, y[:, j])
        learned_oof = _sigmoid(calibration[j, 0] * decision_oof + calibration[j, 1])
        blended_oof = weight[j] * prior[:, j] + (1 - weight[j]) * learned_oof
        thresholds[j] = threshold_for_recall(blended_oof, y[:, j], target_recall)
    return DomainModel(
        codebook=codebook,
        encoder=encoder,
        coef=coef,
        intercept=intercept,
        calibration=calibration,
        thresholds=thresholds,
        positives=positives,
        learned=learned,
        n_train=n,
        prior_strength=prior_strength,
        target_recall=target_recall,
        regularisation_c=regularisation_c,
        trained_on=trained_on,
        fit_seconds=time.perf_counter() - started,
        lexical=lexical,
        _zeroshot=zeroshot,
    )


def _aligned_coef(previous: DomainModel, lexical: LexicalFeatures, dim: int) -> np.ndarray | None:
    """The previous model's weights laid out on the new feature columns (new terms start at zero)."""
    if previous.coef.shape[1] - previous.lexical.n_features != 2 * dim:
        return None
    out = np.zeros((previous.coef.shape[0], 2 * dim + lexical.n_features))
    out[:, : 2 * dim] = previous.coef[:, : 2 * dim]
    old_state, new_state = previous.lexical.state, lexical.state
    old_offset, new_offset = 2 * dim, 2 * dim
    for old_terms, new_terms in ((old_state[0], new_state[0]), (old_state[2], new_state[2])):
        old_index = {term: i for i, term in enumerate(old_terms)}
        pairs = [
            (new_offset + i, old_offset + old_index[t]) for i, t in enumerate(new_terms) if t in old_index
        ]
        if pairs:
            new_cols, old_cols = map(list, zip(*pairs, strict=True))
            out[:, new_cols] = previous.coef[:, old_cols]
        old_offset += len(old_terms)
        new_offset += len(new_terms)
    return out


def _folds(n: int, groups: Sequence[str] | None) -> list[tuple[np.ndarray, np.ndarray]]:
    """Grouped by case where there are enough cases (no leakage within an interview), else plain k-fold."""
    if groups is not None and len(set(groups)) >= 3:
        splitter = GroupKFold(n_splits=min(CV_FOLDS, len(set(groups))))
        return list(splitter.split(np.zeros(n), groups=list(groups)))
    splitter = KFold(n_splits=min(CV_FOLDS, max(2, n // 2)), shuffle=True, random_state=0)
    return list(splitter.split(np.zeros(n)))


def _fit_domain(x: np.ndarray, y: np.ndarray, c: float, start=None) -> LogisticRegression:
    """Class-balanced logistic regression; warm-started from the previous fit when there is one."""
    model = LogisticRegression(C=c, class_weight="balanced", max_iter=500, warm_start=start is not None)
    if start is not None:
        model.coef_ = np.asarray(start[0], dtype=np.float64)[None, :].copy()
        model.intercept_ = np.array([start[1]], dtype=np.float64)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(x, y)
    return model


def _out_of_fold_decisions(x, y, folds, c, full_model) -> np.ndarray:
    """Decision values from models that did not see the unit; the full model where a fold lacks a class."""
    decision = np.empty(len(y))
    for train_idx, test_idx in folds:
        if len(np.unique(y[train_idx])) < 2:
            decision[test_idx] = full_model.decision_function(x[test_idx])
            continue
        start = (full_model.coef_[0], full_model.intercept_[0])
        decision[test_idx] = _fit_domain(x[train_idx], y[train_idx], c, start).decision_function(x[test_idx])
    return decision


def _platt(decision: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Slope and offset of a sigmoid fitted to out-of-fold decisions (Platt scaling)."""
    scaler = LogisticRegression(C=1e4, max_iter=1000)
    scaler.fit(decision[:, None], y)
    return np.array([scaler.coef_[0, 0], scaler.intercept_[0]])


def threshold_for_recall(scores: np.ndarray, y: np.ndarray, target: float) -> float:
    """The highest threshold whose recall on (scores, y) reaches ``target``."""
    positive_scores = np.sort(scores[y == 1])[::-1]
    if len(positive_scores) == 0:
        return FALLBACK_THRESHOLD
    needed = int(np.ceil(target * len(positive_scores)))
    return float(positive_scores[max(needed, 1) - 1])


class OnlineTrainer:
    """Retrains after each decision: examples keyed by unit, vectors kept, fits warm-started.

    ``record`` replaces a unit's earlier label, so a changed consensus is learned
    as a change, not as a contradiction.
    """

    def __init__(self, codebook: Codebook, encoder, **options):
        self.codebook = codebook
        self.encoder = encoder
        self.options = options
        self.zeroshot = ZeroShotClassifier(codebook, encoder)
        self.examples: dict[str, LabelledUnit] = {}
        self._vectors: dict[str, tuple[np.ndarray, np.ndarray, bool]] = {}
        self.model: DomainModel | None = None

    def record(self, examples: Sequence[LabelledUnit]) -> None:
        fresh = [
            e
            for e in examples
            if e.unit not in self._vectors
            or self.examples[e.unit].text != e.text
            or self.examples[e.unit].question != e.question
        ]
        if fresh:
            units, questions, has = encode_units(
                self.encoder, [e.text for e in fresh], [e.question for e in fresh]
            )
            for i, e in enumerate(fresh):
                self._vectors[e.unit] = (units[i], questions[i], bool(has[i]))
        for e in examples:
            self.examples[e.unit] = e

    def retrain(self) -> DomainModel:
        keys = list(self.examples)
        vectors = (
            np.stack([self._vectors[k][0] for k in keys]),
            np.stack([self._vectors[k][1] for k in keys]),
            np.array([self._vectors[k][2] for k in keys]),
        )
        examples = [self.examples[k] for k in keys]
        self.model = fit_vectors(
            vectors,
            [e.text for e in examples],
            [e.question for e in examples],
            label_matrix(examples, self.codebook.domain_ids),
            self.codebook,
            self.encoder,
            groups=[e.case for e in examples],
            previous=self.model,
            zeroshot=self.zeroshot,
            **self.options,
        )
        return self.model


def load_model(path: str | Path, *, codebook: Codebook | None = None, encoder=None) -> DomainModel:
    """A model saved by ``transcode train`` (see :mod:`transcode.classify.persist`)."""
    from transcode.classify.persist import load_model as _load

    return _load(path, codebook=codebook, encoder=encoder)


def save_model(model: DomainModel, path: str | Path) -> Path:
    from transcode.classify.persist import save_model as _save

    return _save(model, path)
