"""How sure the NLU is of an utterance, and the confidence below which it is out of scope.

A softmax spreads all of its probability over the assistant's intents, so text unlike any of them
("what's the capital of Peru" to a pizza assistant) can still get a confident probability.
``Familiarity`` tempers it with the utterance's nearness to the training utterances: both are
standardised by their spread among held-out utterances the classifier got right, averaged, and
put back on the probability's scale. On CLINC150 this caught 68% of out-of-scope test utterances
at the in-scope cost where the probability alone caught 60% (see BENCHMARKS.md).

The no-match threshold sits just below the confidence of nearly all held-out right answers: a
creator who supplied no out-of-scope examples still gets a no-match path, at a known, small cost
to in-scope accuracy. Out-of-scope examples among the held-out data do not move it (how many of
them a data set holds says nothing about live traffic); the rule reports how many it rejects.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import overload

import numpy as np

from nlu.data import OUT_OF_SCOPE

# Reject what looks less sure than 99.5% of right answers.
CORRECT_REJECTION = 0.005


@dataclass(frozen=True)
class Familiarity:
    """Folds nearness to the training utterances into the top intent's probability."""

    probability_mean: float
    probability_sd: float
    nearness_mean: float
    nearness_sd: float

    @classmethod
    def fit(cls, probability: np.ndarray, nearness: np.ndarray) -> Familiarity | None:
        """From held-out right answers; None when they are too few or too alike to scale by."""
        if len(probability) < 2:
            return None
        familiarity = cls(
            float(np.mean(probability)),
            float(np.std(probability)),
            float(np.mean(nearness)),
            float(np.std(nearness)),
        )
        if familiarity.probability_sd < 1e-6 or familiarity.nearness_sd < 1e-6:
            return None
        return familiarity

    @overload
    def confidence(self, probability: float, nearness: float) -> float: ...
    @overload
    def confidence(self, probability: np.ndarray, nearness: np.ndarray) -> np.ndarray: ...
    def confidence(
        self, probability: float | np.ndarray, nearness: float | np.ndarray
    ) -> float | np.ndarray:
        rescaled = self.probability_mean + self.probability_sd * (
            (nearness - self.nearness_mean) / self.nearness_sd
        )
        blended = np.clip(0.5 * probability + 0.5 * rescaled, 0.0, 1.0)
        return float(blended) if np.ndim(blended) == 0 else blended


def threshold_choose(
    confidences: np.ndarray, predicted: list[str], gold: list[str]
) -> tuple[float, str]:
    """The threshold and how it was chosen, from held-out confidences and answers."""
    confidences = np.asarray(confidences, dtype=np.float64)
    gold_array = np.asarray(gold)
    right_confidence = confidences[np.asarray(predicted) == gold_array]
    if len(right_confidence) == 0:
        return 0.0, "no correct predictions"
    threshold = float(np.quantile(right_confidence, CORRECT_REJECTION))
    rule = "correct-answer quantile"
    out_of_scope = gold_array == OUT_OF_SCOPE
    if out_of_scope.any():
        rejected = float((confidences[out_of_scope] < threshold).mean())
        rule += f", rejects {rejected:.1%} of {int(out_of_scope.sum())} out-of-scope examples"
    return threshold, rule
