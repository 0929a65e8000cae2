"""The sequence layer and the calibration of suggestions, on small numeric fixtures (no model)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from transcode.classify.calibration import (
    expected_calibration_error,
    fit_temperature,
    one_key_rate,
    one_key_thresholds,
    suggestion_mask,
    temper,
)
from transcode.classify.sequence import learn_transitions, prior_transitions, smooth, states

FLAT = np.full(4, 0.25)


def emissions(*rows) -> np.ndarray:
    """Rows over three domains plus "other"."""
    return np.array(rows, dtype=float)


def test_a_probe_carries_the_domain_and_a_protocol_question_does_not():
    prior = prior_transitions(3)
    clear = np.array([0.85, 0.05, 0.05, 0.05])
    leaning = np.array([0.2, 0.45, 0.2, 0.15])  # the unit itself leans to domain 1
    after_probe = smooth(emissions(clear, leaning), [2, 4], np.array([0.0, 0.0]), prior)
    after_question = smooth(emissions(clear, leaning), [2, 4], np.array([1.0, 1.0]), prior)
    assert after_probe[1].argmax() == 0
    assert after_question[1].argmax() == 1
    assert np.allclose(after_probe.sum(axis=1), 1)


def test_units_of_one_answer_share_a_domain_more_than_units_across_questions():
    prior = prior_transitions(3)
    scores = emissions([0.05, 0.85, 0.05, 0.05], FLAT)
    same_turn = smooth(scores, [3, 3], np.array([1.0, 1.0]), prior)
    next_turn = smooth(scores, [3, 5], np.array([1.0, 1.0]), prior)
    assert same_turn[1, 1] > next_turn[1, 1] > 0.25


def test_the_prior_moves_on_in_protocol_order():
    prior = prior_transitions(3)
    moved = smooth(emissions([0.9, 0.03, 0.03, 0.04], FLAT), [2, 4], np.array([1.0, 1.0]), prior)
    assert moved[1, 1] > moved[1, 2]  # the next domain in the codebook, not any domain


def test_transitions_are_learned_from_consensus_codes():
    labels = np.array([[1, 0, 0], [1, 0, 0], [0, 0, 1], [0, 0, 1], [0, 0, 0]] * 20)
    cases = [str(i // 5) for i in range(100)]
    turns = [1, 1, 3, 3, 5] * 20
    learned = learn_transitions(labels, cases, turns, np.ones(100))
    prior = prior_transitions(3)
    # after a question this team's interviews jump from domain 0 to domain 2, never to 1
    assert learned.after_question[0, 2] > prior.after_question[0, 2]
    assert learned.after_question[0, 1] < prior.after_question[0, 1]
    assert learned.after_question[2, 3] > 5 * prior.after_question[2, 3]  # from domain 2 on to "other"
    assert np.allclose(learned.within_turn.sum(axis=1), 1)
    assert states(labels)[4].tolist() == [0, 0, 0, 1]


def test_a_single_unit_is_its_emission_under_the_initial_distribution():
    prior = prior_transitions(3)
    row = np.array([[0.5, 0.3, 0.1, 0.1]])
    out = smooth(row, [1], np.array([1.0]), prior, power=1.0)
    expected = row[0] * prior.initial
    assert np.allclose(out[0], expected / expected.sum())


def brute_force_best_rate(scores, labels, grid):
    return max(
        one_key_rate(labels, suggestion_mask(scores, np.array(t)))
        for t in itertools.product(grid, repeat=scores.shape[1])
    )


def test_thresholds_maximise_the_one_key_rate():
    rng = np.random.default_rng(3)
    labels = np.zeros((60, 3), dtype=bool)
    labels[np.arange(60), rng.integers(0, 3, 60)] = True
    labels[:8, 1] = True  # a few units in two domains
    labels[50:] = False  # and some in none
    scores = np.clip(labels * 0.35 + rng.uniform(0, 0.6, labels.shape), 0, 1)
    start = np.full(3, 0.5)
    fitted = one_key_thresholds(scores, labels, start)
    rate = one_key_rate(labels, suggestion_mask(scores, fitted))
    assert rate > one_key_rate(labels, suggestion_mask(scores, start))
    grid = np.round(np.arange(0.05, 1.0, 0.05), 2)
    assert rate >= brute_force_best_rate(scores, labels, grid) - 1e-9


def test_a_domain_with_too_few_codes_keeps_its_default_threshold():
    labels = np.array([[1, 0], [1, 0], [0, 1], [1, 0], [1, 0], [0, 0]], dtype=bool)
    scores = np.array([[0.9, 0.1], [0.8, 0.3], [0.2, 0.7], [0.7, 0.2], [0.6, 0.1], [0.3, 0.3]])
    fitted = one_key_thresholds(scores, labels, np.array([0.5, 0.42]))
    assert fitted[1] == pytest.approx(0.42)
    assert one_key_rate(labels, suggestion_mask(scores, fitted)) == 1.0


def test_temperature_sharpens_under_confident_scores_and_softens_over_confident_ones():
    rng = np.random.default_rng(0)
    truth = rng.integers(0, 4, 400)
    labels = np.eye(4, dtype=bool)[truth]
    right = rng.uniform(size=400) < 0.9  # 90% of top-ranked domains are right
    top = np.where(right, truth, (truth + 1) % 4)
    timid = np.full((400, 4), 0.2)
    timid[np.arange(400), top] = 0.4  # says 0.4 where it is right 90% of the time
    bold = np.full((400, 4), 0.001)
    bold[np.arange(400), top] = 0.997
    assert fit_temperature(timid, labels) < 1 < fit_temperature(bold, labels)
    assert expected_calibration_error(temper(timid, fit_temperature(timid, labels)), labels) < (
        expected_calibration_error(timid, labels)
    )


def test_one_key_rate_and_calibration_error_on_known_values():
    labels = np.array([[1, 0], [0, 1], [0, 0], [1, 1]], dtype=bool)
    suggested = np.array([[1, 0], [1, 0], [0, 0], [1, 0]], dtype=bool)
    assert one_key_rate(labels, suggested) == 0.5
    scores = np.array([[0.8, 0.2], [0.8, 0.2], [0.8, 0.2], [0.8, 0.2]])
    # confidence 0.8, right on units 1 and 4: |0.5 - 0.8|
    assert expected_calibration_error(scores, labels) == pytest.approx(0.3)
