"""Learning from the team: fit a :class:`DomainProposer` on confirmed codes.

One class-balanced logistic regression per domain (a unit may be in several
domains or none) on :func:`transcode.classify.features.features` (unit, question,
context block and TF-IDF), Platt-calibrated on out-of-fold decision values (folds of
whole cases where there are enough). Its probability is blended with the zero-shot
evidence by a weight that shrinks as that domain's confirmed examples grow::

    p = w * prior + (1 - w) * learned,   w = k / (k + positives)

so a fresh project leans on the codebook and a coded one on its coders. The same
codes teach the sequence layer its transitions, and the out-of-fold scores of the
whole path (with and without the sequence layer) fit its temperature and the
per-domain thresholds that maximise the one-key rate.

Only consensus codes train the shared model (see
:func:`transcode.classify.examples.consensus_examples`). Examples must come in
case order, each case's units in transcript order: the context block and the
sequence layer read them as interviews.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GroupKFold, KFold

from transcode.classify.calibration import fit_temperature, one_key_thresholds, temper
from transcode.classify.evidence import Exemplars, case_evidence, encode_units, turn_spans
from transcode.classify.examples import LabelledUnit, label_matrix
from transcode.classify.features import DENSE_BLOCKS, LexicalFeatures, features
from transcode.classify.proposer import (
    PRIOR_STRENGTH,
    Calibration,
    DomainProposer,
    sigmoid,
    zero_shot,
    zero_shot_states,
)
from transcode.classify.sequence import learn_transitions, smooth, states
from transcode.codebook import Codebook

#: Candidate pseudo-counts k of the zero-shot evidence in the blend, w = k / (k + positives).
PRIOR_STRENGTHS = (1.0, 3.0, 10.0, 30.0, 100.0)
#: Training cases needed before k and the emission power are chosen out of fold (else defaults).
MIN_CASES_TO_CHOOSE = 3
#: Inverse regularisation strength of each domain's logistic regression.
REGULARISATION_C = 1.0
#: A domain needs this many positive and negative examples before it is learned at all...
MIN_EXAMPLES_PER_CLASS = 10
#: ...and the examples must come from this many cases.
MIN_CASES_TO_LEARN = 2
CV_FOLDS = 5


@dataclass
class LearnedWeights:
    """One class-balanced, Platt-calibrated logistic regression per domain, on :func:`features`."""

    coef: np.ndarray  # (n_states, n_features): the domains, then "other"
    intercept: np.ndarray  # (n_states,)
    platt: np.ndarray  # (n_states, 2): slope and offset on the decision value
    positives: np.ndarray  # (n_states,): confirmed examples per state
    learned: np.ndarray  # (n_states,) bool: enough examples to learn this state
    lexical: LexicalFeatures
    prior_strength: float = PRIOR_STRENGTH
    #: The confirmed units' centroids, mixed into the zero-shot answer evidence.
    exemplars: Exemplars | None = None

    def __post_init__(self) -> None:
        # Arrays are stored as float32: round them now, so a reloaded model scores exactly the same.
        for name in ("coef", "intercept", "platt"):
            setattr(self, name, np.asarray(getattr(self, name), dtype=np.float32).astype(np.float64))
        self.positives = np.asarray(self.positives, dtype=np.int64)
        self.learned = np.asarray(self.learned, dtype=bool)

    def prior_weight(self) -> np.ndarray:
        weight = self.prior_strength / (self.prior_strength + self.positives.astype(float))
        return np.where(self.learned, weight, 1.0)

    def proba(self, x) -> np.ndarray:
        decision = np.asarray(x @ self.coef.T) + self.intercept
        return sigmoid(self.platt[:, 0] * decision + self.platt[:, 1])

    def blend(self, prior: np.ndarray, learned: np.ndarray) -> np.ndarray:
        """Zero-shot and learned probabilities per state, weighted by examples, renormalised."""
        weight = self.prior_weight()
        blended = weight * prior + (1 - weight) * learned
        return blended / blended.sum(axis=1, keepdims=True)


@dataclass(frozen=True)
class TrainingSet:
    """Labelled units in case order (each case's units in transcript order), with their vectors."""

    texts: list[str]
    questions: list[str | None]
    turns: list[int]
    cases: list[str]
    labels: np.ndarray  # (n, n_domains)
    unit_vectors: np.ndarray
    question_vectors: np.ndarray
    has_question: np.ndarray

    def __len__(self) -> int:
        return len(self.texts)

    def take(self, idx: np.ndarray) -> TrainingSet:
        """A subset, keeping the given order (callers keep cases together and in transcript order)."""
        return TrainingSet(
            [self.texts[i] for i in idx],
            [self.questions[i] for i in idx],
            [self.turns[i] for i in idx],
            [self.cases[i] for i in idx],
            self.labels[idx],
            self.unit_vectors[idx],
            self.question_vectors[idx],
            self.has_question[idx],
        )


def in_case_order(examples: Sequence[LabelledUnit]) -> list[LabelledUnit]:
    """Cases in order of first appearance, each case's units in the order given."""
    by_case: dict[str, list[LabelledUnit]] = {}
    for example in examples:
        by_case.setdefault(example.case, []).append(example)
    return [e for group in by_case.values() for e in group]


def training_set(examples: Sequence[LabelledUnit], codebook: Codebook, encoder, vectors=None) -> TrainingSet:
    """Encode (unless ``vectors`` are given, in the examples' order) and lay out the examples."""
    examples = list(examples)
    texts = [e.text for e in examples]
    questions = [e.question for e in examples]
    unit_vectors, question_vectors, has_question = vectors or encode_units(encoder, texts, questions)
    return TrainingSet(
        texts,
        questions,
        [e.turn for e in examples],
        [e.case for e in examples],
        label_matrix(examples, codebook.domain_ids),
        unit_vectors,
        question_vectors,
        has_question,
    )


def train(
    examples: Sequence[LabelledUnit],
    codebook: Codebook,
    encoder,
    *,
    prior_strength: float | None = None,
    regularisation_c: float = REGULARISATION_C,
    previous: DomainProposer | None = None,
    trained_on: str = "",
) -> DomainProposer:
    """Fit a proposer on confirmed examples (their domains; empty means "other")."""
    if not examples:
        from transcode.errors import InputError

        raise InputError("no confirmed examples to train on")
    data = training_set(in_case_order(examples), codebook, encoder)
    return fit(
        data,
        zero_shot(codebook, encoder),
        prior_strength=prior_strength,
        regularisation_c=regularisation_c,
        previous=previous,
        trained_on=trained_on,
    )


def case_emissions(
    base: DomainProposer, data: TrainingSet, exemplars: Exemplars | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Zero-shot probabilities over the states and question informativeness of every unit, case by case."""
    probabilities = np.zeros((len(data), len(base.domain_ids) + 1))
    informativeness = np.zeros(len(data))
    for start, end in turn_spans(data.cases):
        evidence = case_evidence(
            base.codebook_vectors,
            data.unit_vectors[start:end],
            data.question_vectors[start:end],
            data.has_question[start:end],
            data.turns[start:end],
            base.settings,
            exemplars,
        )
        probabilities[start:end] = zero_shot_states(evidence.logits, base.settings)
        informativeness[start:end] = evidence.informativeness
    return probabilities, informativeness


def fit(
    data: TrainingSet,
    base: DomainProposer,
    *,
    prior_strength: float | None = None,
    regularisation_c: float = REGULARISATION_C,
    previous: DomainProposer | None = None,
    trained_on: str = "",
) -> DomainProposer:
    """The pure core of :func:`train`, on a laid-out training set (evaluation reuses its vectors).

    ``base`` is the zero-shot proposer of the same codebook and encoder (its codebook
    vectors are reused). ``prior_strength`` (k of the blend) is chosen from
    ``PRIOR_STRENGTHS`` by out-of-fold likelihood unless given: a codebook whose
    zero-shot evidence is good for these interviews keeps its weight longer.
    """
    started = time.perf_counter()
    y = data.labels
    target = states(y)
    n, n_states = target.shape
    lexical = LexicalFeatures.fit(data.texts, data.questions, data.cases)
    x = features(
        data.unit_vectors,
        data.question_vectors,
        data.turns,
        lexical.transform(data.texts, data.questions),
        data.cases,
    )
    folds = _folds(n, data.cases)
    prior, informativeness = _exemplar_emissions(base, data, folds)
    positives = target.sum(axis=0).astype(np.int64)
    # A learner fitted inside one interview mistakes that interview for the study: wait for a second.
    several_cases = len(set(data.cases)) >= MIN_CASES_TO_LEARN
    learned = (
        (positives >= MIN_EXAMPLES_PER_CLASS) & (n - positives >= MIN_EXAMPLES_PER_CLASS) & several_cases
    )
    coef = np.zeros((n_states, x.shape[1]))
    intercept = np.zeros(n_states)
    platt = np.zeros((n_states, 2))
    learned_oof = np.zeros((n, n_states))
    warm = None
    if previous is not None and previous.learned is not None:
        warm = _aligned_coef(previous.learned, lexical, data.unit_vectors.shape[1])
    for j in np.flatnonzero(learned):
        start = None
        if warm is not None and previous is not None and previous.learned is not None:
            start = (warm[j], previous.learned.intercept[j]) if previous.learned.learned[j] else None
        model = _fit_domain(x, target[:, j], regularisation_c, start)
        coef[j], intercept[j] = model.coef_[0], model.intercept_[0]
        decision_oof = _out_of_fold_decisions(x, target[:, j], folds, regularisation_c, model)
        platt[j] = _platt(decision_oof, target[:, j])
        learned_oof[:, j] = sigmoid(platt[j, 0] * decision_oof + platt[j, 1])
    # Out-of-fold choices need folds of whole cases: within one interview, neighbouring units
    # make any learner look better than it is on the next interview. Until then, defaults.
    by_cases = len(set(data.cases)) >= MIN_CASES_TO_CHOOSE
    exemplars = Exemplars.of(data.unit_vectors, y)
    strengths = (prior_strength,) if prior_strength is not None else PRIOR_STRENGTHS
    candidates = [
        LearnedWeights(coef, intercept, platt, positives, learned, lexical, k, exemplars)
        for k in (strengths if by_cases else (prior_strength or PRIOR_STRENGTH,))
    ]
    weights = min(candidates, key=lambda w: _log_loss(w.blend(prior, learned_oof), target))
    blended = weights.blend(prior, learned_oof)
    transitions = learn_transitions(y, data.cases, data.turns, informativeness)
    powers = EMISSION_POWERS if by_cases else (base.emission_power,)
    power, smoothed = _fit_emission_power(blended, data, informativeness, transitions, folds, powers)
    calibration = {
        "plain": _calibrate(blended, y, base.calibration["plain"]),
        "sequence": _calibrate(smoothed, y, base.calibration["sequence"]),
    }
    return DomainProposer(
        codebook=base.codebook,
        encoder=base.encoder,
        settings=base.settings,
        transitions=transitions,
        calibration=calibration,
        learned=weights,
        emission_power=power,
        n_train=n,
        trained_on=trained_on,
        fit_seconds=time.perf_counter() - started,
        _codebook_vectors=base.codebook_vectors,
    )


def _exemplar_emissions(base: DomainProposer, data: TrainingSet, folds) -> tuple[np.ndarray, np.ndarray]:
    """Out-of-fold zero-shot emissions with exemplar evidence: each unit's centroids come from other folds.

    Each case is still scored whole (its evidence is standardised over the case); only
    the rows of the fold's held-out units are kept.
    """
    prior, informativeness = case_emissions(base, data)
    for train_idx, test_idx in folds:
        exemplars = Exemplars.of(data.unit_vectors[train_idx], data.labels[train_idx])
        fold_prior, _ = case_emissions(base, data, exemplars)
        prior[test_idx] = fold_prior[test_idx]
    return prior, informativeness


#: Emission powers tried on out-of-fold scores: below 1 neighbours count for more, above 1 for less.
EMISSION_POWERS = (0.5, 0.7, 1.0, 1.5, 2.5)


def _fit_emission_power(blended, data: TrainingSet, informativeness, transitions, folds, powers):
    """The emission power under which the smoothed out-of-fold scores best predict the consensus codes.

    Where a chain helps little (AnnoMI's therapist turns), a high power keeps the
    sequence layer from overriding good evidence; in protocol interviews a low one
    lets a probe's unit lean on its neighbours.
    """
    target = states(data.labels)
    best: tuple[float, float, np.ndarray] | None = None
    for power in powers:
        smoothed = _smoothed_out_of_fold(blended, data, informativeness, transitions, folds, power)
        loss = _log_loss(temper(smoothed, fit_temperature(smoothed, target)), target)
        if best is None or loss < best[0]:
            best = (loss, power, smoothed)
    assert best is not None
    return best[1], best[2]


def _log_loss(probabilities: np.ndarray, target: np.ndarray) -> float:
    """Mean negative log of the probability given to each unit's consensus states."""
    return float(-np.log((probabilities * target).sum(axis=1) + 1e-12).mean())


def _smoothed_out_of_fold(
    blended, data: TrainingSet, informativeness, transitions, folds, power
) -> np.ndarray:
    """The sequence layer over each case's out-of-fold scores, with transitions the case did not teach.

    With folds of whole cases, each fold's cases are smoothed with transitions learned
    from the other folds; otherwise (one or two cases) with all of them.
    """
    out = np.zeros_like(blended)
    by_case = dict.fromkeys(data.cases)
    grouped = len(by_case) >= 3
    for train_idx, test_idx in folds if grouped else [(np.arange(len(data)), np.arange(len(data)))]:
        fold_transitions = transitions
        if grouped:
            fold_transitions = learn_transitions(
                data.labels[train_idx],
                [data.cases[i] for i in train_idx],
                [data.turns[i] for i in train_idx],
                informativeness[train_idx],
            )
        members = set(test_idx.tolist())
        for start, end in turn_spans(data.cases):
            if start in members and len(set(data.turns[start:end])) < 2:
                out[start:end] = blended[start:end]  # one answer alone: no sequence to read
            elif start in members:
                out[start:end] = smooth(
                    blended[start:end],
                    data.turns[start:end],
                    informativeness[start:end],
                    fold_transitions,
                    power=power,
                )
    return out


def _calibrate(probabilities: np.ndarray, y: np.ndarray, default: Calibration) -> Calibration:
    """Temperature by likelihood over the states, then domain thresholds by one-key rate, out of fold."""
    temperature = fit_temperature(probabilities, states(y), default.temperature)
    thresholds = one_key_thresholds(temper(probabilities, temperature)[:, :-1], y, default.thresholds)
    return Calibration(temperature, thresholds)


def _aligned_coef(previous: LearnedWeights, lexical: LexicalFeatures, dim: int) -> np.ndarray | None:
    """The previous model's weights laid out on the new feature columns (new terms start at zero)."""
    dense = DENSE_BLOCKS * dim
    if previous.coef.shape[1] - previous.lexical.n_features != dense:
        return None
    out = np.zeros((previous.coef.shape[0], dense + lexical.n_features))
    out[:, :dense] = previous.coef[:, :dense]
    old_state, new_state = previous.lexical.state, lexical.state
    old_offset, new_offset = dense, dense
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


def _fit_domain(x, y: np.ndarray, c: float, start=None) -> LogisticRegression:
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


class OnlineTrainer:
    """Retrains after each decision: examples keyed by unit, vectors kept, fits warm-started.

    ``record`` replaces a unit's earlier label, so a changed consensus is learned
    as a change, not as a contradiction. Examples are fitted in case order, each
    case's units by turn (the order a team codes a transcript in).
    """

    def __init__(self, codebook: Codebook, encoder, **options):
        self.codebook = codebook
        self.encoder = encoder
        self.options = options
        self.base = zero_shot(codebook, encoder)
        self.examples: dict[str, LabelledUnit] = {}
        self._vectors: dict[str, tuple[np.ndarray, np.ndarray, bool]] = {}
        self.model: DomainProposer | None = None

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

    def retrain(self) -> DomainProposer:
        position = {key: i for i, key in enumerate(self.examples)}
        keys = sorted(
            self.examples, key=lambda k: (self.examples[k].case, self.examples[k].turn, position[k])
        )
        examples = [self.examples[k] for k in keys]
        vectors = (
            np.stack([self._vectors[k][0] for k in keys]),
            np.stack([self._vectors[k][1] for k in keys]),
            np.array([self._vectors[k][2] for k in keys]),
        )
        self.model = fit(
            training_set(examples, self.codebook, self.encoder, vectors),
            self.base,
            previous=self.model,
            **self.options,
        )
        return self.model
