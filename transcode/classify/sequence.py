"""The sequence layer: an interview flows, so a case's units are read as one chain over the domains.

On the demo, consecutive participant turns share a domain about half the time and
move forward in protocol order about a third of the time; units of one answer
share a domain nine times out of ten. A hidden Markov chain over a case's units
(domains as states, the proposer's scores as emissions) lets every unit borrow
evidence from its neighbours: forward-backward gives each unit's posterior over the
domains given the whole case.

A step between two units uses one of three transition matrices:

* **within a turn**: the units of one answer mostly stay in one domain;
* **after an informative question**: the interview may move on (most often to the
  next domain in protocol order) or stay;
* **after a neutral probe** ("Can you say more about that?"): the domain carries.

A step to a new turn mixes the last two by the new question's informativeness (see
:mod:`transcode.classify.evidence`). Besides the domains the chain has one more state,
"other" (a unit in no domain: small talk, a closing thanks; a third of AnnoMI's
therapist utterances), so those units neither break the chain nor pull a domain in.
Before any codes exist each matrix is a weak "stay / move on / jump" prior built from
the codebook's order (the protocol order);
consensus codes of consecutive units then add their counts (the posterior mean of a
Dirichlet with that prior), so transitions are learned from the team's own codes.

Only the units of one case enter a chain, so proposals stay case-local.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

#: (stay, move on to the next domain in protocol order) of each prior matrix; the rest jumps anywhere.
PRIOR_WITHIN_TURN = (0.95, 0.02)
PRIOR_AFTER_QUESTION = (0.5, 0.3)
PRIOR_AFTER_PROBE = (0.9, 0.05)
#: Prior chance of a step from a domain to "other", and of staying in "other".
PRIOR_TO_OTHER = 0.05
PRIOR_OTHER_STAYS = 0.3
#: Pseudo-transitions per row of the prior when counts from consensus codes are added.
PRIOR_STRENGTH = 30.0
#: Emissions are the scores to this power: scores of neighbouring units are not independent evidence.
EMISSION_POWER = 0.7


@dataclass(frozen=True)
class Transitions:
    """Row-stochastic transition matrices over the states (the domains, then "other") and the first
    unit's distribution over them."""

    within_turn: np.ndarray
    after_question: np.ndarray
    after_probe: np.ndarray
    initial: np.ndarray

    @property
    def arrays(self) -> dict[str, np.ndarray]:
        return {
            "transitions_within_turn": self.within_turn,
            "transitions_after_question": self.after_question,
            "transitions_after_probe": self.after_probe,
            "transitions_initial": self.initial,
        }

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray]) -> Transitions:
        return cls(
            *(
                np.asarray(arrays[name], dtype=np.float64)
                for name in (
                    "transitions_within_turn",
                    "transitions_after_question",
                    "transitions_after_probe",
                    "transitions_initial",
                )
            )
        )


def order_matrix(n_domains: int, stay: float, move_on: float) -> np.ndarray:
    """Stay with ``stay``, move to the next domain in codebook order with ``move_on``, else jump anywhere."""
    if n_domains == 1:
        return np.ones((1, 1))
    jump = (1.0 - stay - move_on) / (n_domains - 1)
    matrix = np.full((n_domains, n_domains), jump)
    for d in range(n_domains):
        matrix[d, d] = stay
        if d + 1 < n_domains:
            matrix[d, d + 1] += move_on
        else:
            matrix[d, d] += move_on  # the last domain has nothing to move on to
    return matrix / matrix.sum(axis=1, keepdims=True)


def with_other(matrix: np.ndarray) -> np.ndarray:
    """A domain transition matrix extended by the "other" state (the last row and column)."""
    n = len(matrix)
    out = np.zeros((n + 1, n + 1))
    out[:n, :n] = (1 - PRIOR_TO_OTHER) * matrix
    out[:n, n] = PRIOR_TO_OTHER
    out[n, :n] = (1 - PRIOR_OTHER_STAYS) / n
    out[n, n] = PRIOR_OTHER_STAYS
    return out


def prior_transitions(n_domains: int) -> Transitions:
    """The weak prior before any consensus codes: stay / move on in the codebook's (protocol) order."""
    initial = np.full(n_domains + 1, (1 - PRIOR_TO_OTHER) / n_domains)
    initial[-1] = PRIOR_TO_OTHER
    return Transitions(
        with_other(order_matrix(n_domains, *PRIOR_WITHIN_TURN)),
        with_other(order_matrix(n_domains, *PRIOR_AFTER_QUESTION)),
        with_other(order_matrix(n_domains, *PRIOR_AFTER_PROBE)),
        initial,
    )


def states(labels: np.ndarray) -> np.ndarray:
    """Domain labels (n x n_domains) as states: the domains, then "other" for units in none."""
    labels = np.asarray(labels, dtype=float)
    return np.hstack([labels, (labels.sum(axis=1, keepdims=True) == 0).astype(float)])


def learn_transitions(
    labels: np.ndarray,
    cases: Sequence[str],
    turns: Sequence[int],
    informativeness: np.ndarray,
    *,
    prior: Transitions | None = None,
    strength: float = PRIOR_STRENGTH,
) -> Transitions:
    """Transitions from consensus codes of consecutive units (in case order), smoothed by the prior.

    ``labels`` are domain labels (n x n_domains; a unit in none is "other"). A pair of
    units counts once, spread over its state pairs; a pair across turns counts towards
    "after a question" by the second question's informativeness and towards "after a
    probe" by the rest.
    """
    occupied = states(labels)
    n_states = occupied.shape[1]
    prior = prior or prior_transitions(n_states - 1)
    within, asked, probed = (np.zeros((n_states, n_states)) for _ in range(3))
    first = np.zeros(n_states)
    for i in range(len(occupied)):
        if i == 0 or cases[i] != cases[i - 1]:
            first += occupied[i] / occupied[i].sum()
            continue
        pair = np.outer(occupied[i - 1], occupied[i])
        pair /= pair.sum()
        if turns[i] == turns[i - 1]:
            within += pair
        else:
            asked += informativeness[i] * pair
            probed += (1 - informativeness[i]) * pair
    return Transitions(
        _posterior_mean(within, prior.within_turn, strength),
        _posterior_mean(asked, prior.after_question, strength),
        _posterior_mean(probed, prior.after_probe, strength),
        (first + strength * prior.initial) / (first.sum() + strength),
    )


def _posterior_mean(counts: np.ndarray, prior: np.ndarray, strength: float) -> np.ndarray:
    return (counts + strength * prior) / (counts.sum(axis=1, keepdims=True) + strength)


def smooth(
    scores: np.ndarray,
    turns: Sequence[int],
    informativeness: np.ndarray,
    transitions: Transitions,
    *,
    power: float = EMISSION_POWER,
) -> np.ndarray:
    """Posterior over the states of each unit of one case, given all of its units (forward-backward)."""
    n, n_domains = scores.shape
    if n == 0:
        return scores.astype(float)
    emission = np.clip(scores, 1e-12, None) ** power
    emission /= emission.sum(axis=1, keepdims=True)
    steps = [
        transitions.within_turn
        if turns[i] == turns[i - 1]
        else informativeness[i] * transitions.after_question
        + (1 - informativeness[i]) * transitions.after_probe
        for i in range(1, n)
    ]
    forward = np.empty((n, n_domains))
    scale = np.empty(n)
    step = transitions.initial * emission[0]
    scale[0] = step.sum()
    forward[0] = step / scale[0]
    for i in range(1, n):
        step = (forward[i - 1] @ steps[i - 1]) * emission[i]
        scale[i] = step.sum()
        forward[i] = step / scale[i]
    backward = np.ones((n, n_domains))
    for i in range(n - 2, -1, -1):
        backward[i] = (steps[i] @ (emission[i + 1] * backward[i + 1])) / scale[i + 1]
    posterior = forward * backward
    return posterior / posterior.sum(axis=1, keepdims=True)
