"""Active-learning order for the coding queue: the units the model is least sure of come first.

Coders' first hours then teach the model most. Three measures, all from the
scores the proposer already gives every domain:

* ``margin``: one minus the gap between the two best domains (close race = unsure);
* ``entropy``: Shannon entropy of the scores normalised to sum to one;
* ``threshold``: closeness of any domain's score to its own threshold (for
  models with per-domain thresholds, where "suggest or not" is the decision).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from transcode.classify import UnitProposal

METHODS = ("margin", "entropy", "threshold")


def uncertainty(
    scores: np.ndarray, method: str = "margin", thresholds: Sequence[float] | None = None
) -> np.ndarray:
    """Uncertainty per unit (higher = less sure) from an (n_units x n_domains) score matrix."""
    scores = np.asarray(scores, dtype=float)
    if method not in METHODS:
        raise ValueError(f"unknown uncertainty method {method!r}; choose one of {METHODS}")
    if scores.size == 0:
        return np.zeros(len(scores))
    if method == "margin":
        if scores.shape[1] < 2:
            return 1.0 - np.abs(2 * scores[:, 0] - 1)
        top_two = -np.sort(-scores, axis=1)[:, :2]
        return 1.0 - (top_two[:, 0] - top_two[:, 1])
    if method == "entropy":
        p = np.clip(scores, 1e-12, None)
        p = p / p.sum(axis=1, keepdims=True)
        return (
            -(p * np.log(p)).sum(axis=1) / np.log(scores.shape[1])
            if scores.shape[1] > 1
            else np.zeros(len(p))
        )
    if thresholds is None:
        raise ValueError("the threshold method needs the model's per-domain thresholds")
    return 1.0 - np.abs(scores - np.asarray(thresholds, dtype=float)).min(axis=1)


def uncertainty_order(
    scores: np.ndarray, method: str = "margin", thresholds: Sequence[float] | None = None
) -> list[int]:
    """Indices of the units, least certain first; ties keep the original (transcript) order."""
    return [int(i) for i in np.argsort(-uncertainty(scores, method, thresholds), kind="stable")]


def order_queue(
    unit_keys: Sequence[str],
    proposals: Sequence[UnitProposal],
    domain_ids: Sequence[str],
    method: str = "margin",
    thresholds: Sequence[float] | None = None,
) -> list[str]:
    """The coding queue (unit keys) reordered by uncertainty of their stored proposals."""
    index = {d: j for j, d in enumerate(domain_ids)}
    scores = np.zeros((len(proposals), len(domain_ids)))
    for i, proposal in enumerate(proposals):
        for domain, score in proposal.scores:
            if domain in index:
                scores[i, index[domain]] = score
    return [unit_keys[i] for i in uncertainty_order(scores, method, thresholds)]
