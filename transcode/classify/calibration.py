"""From scores to suggestions people can accept with one key: temperature, thresholds, and their measures.

* **Temperature**: scores are re-tempered (``softmax(log s / T)``) with the ``T``
  that maximises the likelihood of the consensus codes on coded data, so a score of
  0.8 is right about 80% of the time (raw zero-shot scores were under-confident:
  mean top score 0.50 against accuracy 0.60).
* **Thresholds**: a domain is suggested when its score reaches its own threshold.
  The thresholds maximise the **one-key rate** on coded data: the share of units
  whose suggested set equals the consensus set exactly, so that one key (``a``)
  codes the unit. Coordinate ascent, domain by domain, with the others fixed.
* **Expected calibration error** of the top-ranked domain (10 equal bins).
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import minimize_scalar

#: Thresholds stay inside this range (a domain is never always or never suggested by fiat).
THRESHOLD_RANGE = (0.02, 0.98)
#: A domain needs this many coded positives before its threshold is fitted; else the default stays.
MIN_POSITIVES_FOR_THRESHOLD = 3
COORDINATE_SWEEPS = 3


def temper(scores: np.ndarray, temperature: float) -> np.ndarray:
    """Rows re-tempered: ``softmax(log(scores) / temperature)``."""
    if scores.size == 0 or temperature == 1.0:
        return np.asarray(scores, dtype=float)
    logits = np.log(np.clip(scores, 1e-12, None)) / temperature
    logits -= logits.max(axis=1, keepdims=True)
    e = np.exp(logits)
    return e / e.sum(axis=1, keepdims=True)


def fit_temperature(scores: np.ndarray, labels: np.ndarray, default: float = 1.0) -> float:
    """The temperature that maximises the probability given to the consensus domains (units with any)."""
    labels = np.asarray(labels, dtype=bool)
    coded = labels.any(axis=1)
    if coded.sum() < 2:
        return default
    log_scores = np.log(np.clip(scores[coded], 1e-12, None))
    gold = labels[coded]

    def loss(log_t: float) -> float:
        z = log_scores / np.exp(log_t)
        z -= z.max(axis=1, keepdims=True)
        log_norm = np.log(np.exp(z).sum(axis=1))
        log_gold = np.log((np.exp(z) * gold).sum(axis=1) + 1e-300)
        return float((log_norm - log_gold).mean())

    result = minimize_scalar(loss, bounds=(np.log(0.05), np.log(20.0)), method="bounded")
    return float(np.exp(result.x))


def suggestion_mask(scores: np.ndarray, thresholds) -> np.ndarray:
    """Which domains are suggested: those at or over their own threshold."""
    return np.asarray(scores, dtype=float) >= np.asarray(thresholds, dtype=float)


def one_key_rate(labels: np.ndarray, suggested: np.ndarray) -> float:
    """Share of units whose suggested set equals the consensus set (empty = "other" counts too)."""
    labels, suggested = np.asarray(labels, dtype=bool), np.asarray(suggested, dtype=bool)
    if len(labels) == 0:
        return float("nan")
    return float((labels == suggested).all(axis=1).mean())


def one_key_thresholds(
    scores: np.ndarray, labels: np.ndarray, start: np.ndarray, *, sweeps: int = COORDINATE_SWEEPS
) -> np.ndarray:
    """Per-domain thresholds that maximise the one-key rate on (scores, labels), from ``start``.

    For one domain, with the others fixed, only units whose other domains are
    already right can become exactly right, and for them the best threshold is a
    cut of the sorted scores: every candidate is tried at once with cumulative sums.
    Domains with fewer than ``MIN_POSITIVES_FOR_THRESHOLD`` coded units keep ``start``.
    """
    scores = np.asarray(scores, dtype=float)
    labels = np.asarray(labels, dtype=bool)
    thresholds = np.clip(np.asarray(start, dtype=float).copy(), *THRESHOLD_RANGE)
    fitted = labels.sum(axis=0) >= MIN_POSITIVES_FOR_THRESHOLD
    for _ in range(sweeps):
        changed = False
        for d in np.flatnonzero(fitted):
            right = suggestion_mask(scores, thresholds) == labels
            others_right = np.delete(right, d, axis=1).all(axis=1)
            best = _best_cut(scores[others_right, d], labels[others_right, d])
            if best is not None and abs(best - thresholds[d]) > 1e-12:
                current = _right_at(scores[others_right, d], labels[others_right, d], thresholds[d])
                if _right_at(scores[others_right, d], labels[others_right, d], best) > current:
                    thresholds[d] = best
                    changed = True
        if not changed:
            break
    return thresholds


def _right_at(scores: np.ndarray, labels: np.ndarray, threshold: float) -> int:
    return int(((scores >= threshold) == labels).sum())


def _best_cut(scores: np.ndarray, labels: np.ndarray) -> float | None:
    """The threshold (midway between neighbouring scores) that gets most of these units right."""
    if len(scores) == 0:
        return None
    order = np.argsort(-scores, kind="stable")
    s, y = scores[order], labels[order].astype(int)
    # suggesting the top k units (k = 0..n): right = positives among them + negatives below
    right = np.concatenate([[0], np.cumsum(y)]) + (len(y) - y.sum()) - np.concatenate([[0], np.cumsum(1 - y)])
    # only cut between distinct scores
    distinct = np.concatenate([[True], s[1:] < s[:-1], [True]])
    right = np.where(distinct, right, -1)
    k = int(np.argmax(right))
    upper = s[k - 1] if k > 0 else 1.0
    lower = s[k] if k < len(s) else 0.0
    return float(np.clip((upper + lower) / 2, *THRESHOLD_RANGE))


def expected_calibration_error(scores: np.ndarray, labels: np.ndarray, bins: int = 10) -> float:
    """Top-label ECE: |accuracy - confidence| of the best-ranked domain, weighted over equal-width bins.

    Units with no consensus domain count as wrong whatever is ranked first.
    """
    scores, labels = np.asarray(scores, dtype=float), np.asarray(labels, dtype=bool)
    if len(scores) == 0:
        return float("nan")
    confidence = scores.max(axis=1)
    correct = labels[np.arange(len(labels)), scores.argmax(axis=1)]
    edges = np.linspace(0.0, 1.0, bins + 1)
    index = np.clip(np.digitize(confidence, edges[1:-1], right=True), 0, bins - 1)
    error = 0.0
    for b in range(bins):
        members = index == b
        if members.any():
            error += members.mean() * abs(correct[members].mean() - confidence[members].mean())
    return float(error)
