from __future__ import annotations

import numpy as np

from nlu.calibration import threshold_choose


def test_with_out_of_scope_examples_the_threshold_separates_them() -> None:
    confidences = np.array([0.95, 0.9, 0.85, 0.3, 0.25, 0.6])
    predicted = ["a", "b", "a", "a", "b", "b"]
    gold = ["a", "b", "a", "oos", "oos", "b"]
    threshold, rule = threshold_choose(confidences, predicted, gold)
    assert rule == "out-of-scope examples"
    assert 0.3 < threshold <= 0.6


def test_without_out_of_scope_examples_nearly_all_right_answers_stay_above() -> None:
    rng = np.random.default_rng(0)
    confidences = rng.uniform(0.5, 1.0, size=1000)
    labels = ["a"] * 1000
    threshold, rule = threshold_choose(confidences, labels, labels)
    assert rule == "correct-answer quantile"
    assert (confidences >= threshold).mean() >= 0.99
