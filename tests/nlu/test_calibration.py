from __future__ import annotations

import numpy as np

from nlu.calibration import Familiarity, threshold_choose


def test_out_of_scope_examples_do_not_move_the_threshold_but_are_reported() -> None:
    rng = np.random.default_rng(0)
    right = rng.uniform(0.5, 1.0, size=200)
    labels = ["a"] * 200
    alone, _ = threshold_choose(right, labels, labels)
    # Twenty out-of-scope examples, most of them less sure than the right answers.
    outside = np.concatenate([np.full(15, 0.2), np.full(5, 0.9)])
    threshold, rule = threshold_choose(
        np.concatenate([right, outside]), labels + ["a"] * 20, labels + ["oos"] * 20
    )
    assert threshold == alone
    assert rule == "correct-answer quantile, rejects 75.0% of 20 out-of-scope examples"


def test_without_out_of_scope_examples_nearly_all_right_answers_stay_above() -> None:
    rng = np.random.default_rng(0)
    confidences = rng.uniform(0.5, 1.0, size=1000)
    labels = ["a"] * 1000
    threshold, rule = threshold_choose(confidences, labels, labels)
    assert rule == "correct-answer quantile"
    assert 0.99 <= (confidences >= threshold).mean() < 1.0


def test_wrong_answers_do_not_count_towards_the_quantile() -> None:
    confidences = np.array([0.9, 0.8, 0.1])
    threshold, _ = threshold_choose(confidences, ["a", "b", "a"], ["a", "b", "b"])
    assert threshold > 0.1


def test_familiarity_lowers_a_confident_guess_far_from_the_training_utterances() -> None:
    rng = np.random.default_rng(0)
    familiarity = Familiarity.fit(rng.uniform(0.6, 1.0, 500), rng.uniform(0.7, 0.9, 500))
    assert familiarity is not None
    near, far = familiarity.confidence(0.9, 0.85), familiarity.confidence(0.9, 0.2)
    assert far < 0.5 < near
    assert 0.0 <= familiarity.confidence(0.0, -1.0) <= familiarity.confidence(1.0, 1.0) <= 1.0
    batch = familiarity.confidence(np.array([0.9, 0.9]), np.array([0.85, 0.2]))
    assert np.allclose(batch, [near, far])


def test_familiarity_needs_right_answers_that_differ() -> None:
    assert Familiarity.fit(np.array([0.9]), np.array([0.8])) is None
    assert Familiarity.fit(np.full(10, 1.0), np.linspace(0.5, 0.9, 10)) is None
