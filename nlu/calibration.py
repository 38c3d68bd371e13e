"""Choosing the confidence below which an utterance is out of scope (no match).

With labelled out-of-scope examples (a validation set, or out-of-scope utterances among the
training data scored by cross-validation) the threshold maximises accuracy with "no match" counted
as a class. Without any, it sits just below the confidence of nearly all correctly recognised
utterances (cross-validated): a creator who supplied no out-of-scope examples still gets a
no-match path, at almost no cost to in-scope accuracy.
"""

from __future__ import annotations

import numpy as np

from nlu.data import OUT_OF_SCOPE

# Without out-of-scope examples: reject what looks less sure than 99.5% of right answers.
CORRECT_REJECTION = 0.005


def threshold_choose(
    confidences: np.ndarray, predicted: list[str], gold: list[str]
) -> tuple[float, str]:
    """The threshold and how it was chosen ("out-of-scope examples" or "in-scope quantile")."""
    confidences = np.asarray(confidences, dtype=np.float64)
    gold_array = np.asarray(gold)
    out_of_scope = gold_array == OUT_OF_SCOPE
    predicted_array = np.asarray(predicted)
    if not out_of_scope.any():
        right_confidence = confidences[predicted_array == gold_array]
        if len(right_confidence) == 0:
            return 0.0, "no correct predictions"
        return float(np.quantile(right_confidence, CORRECT_REJECTION)), "correct-answer quantile"
    candidates = np.unique(np.concatenate([[0.0], confidences]))
    # A row is right when kept with the right intent, or rejected while out of scope.
    kept = confidences[None, :] >= candidates[:, None]
    right = (kept & (predicted_array == gold_array)) | (~kept & out_of_scope)
    best = int(np.argmax(right.sum(axis=1)))
    return float(candidates[best]), "out-of-scope examples"
