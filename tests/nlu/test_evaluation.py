"""The figures of an evaluation report, checked by hand on a small set of outcomes."""

from __future__ import annotations

from nlu.data import Example
from nlu.evaluation import Outcome, kfold_outcomes, report, split_holdout


def outcome(expected, predicted, confidence=0.9, expected_entities=(), found_entities=()):
    return Outcome(
        text=f"{expected}->{predicted}",
        expected=expected,
        predicted=predicted,
        confidence=confidence,
        alternatives=(("other", 0.05),),
        expected_entities=frozenset(expected_entities),
        found_entities=frozenset(found_entities),
    )


OUTCOMES = [
    outcome("order", "order", 0.95, [(0, 5, "size")], [(0, 5, "size")]),
    outcome("order", "order", 0.91, [(2, 7, "topping")], [(2, 6, "topping")]),
    outcome("order", "track", 0.55),
    outcome("track", "track", 0.85),
    outcome("track", "oos", 0.2),
    outcome("oos", "oos", 0.1),
    outcome("oos", "order", 0.62),
]


def test_accuracy_and_per_intent_precision_recall_f1():
    figures = report(OUTCOMES)

    assert figures["utterances"] == 7
    assert figures["accuracy"] == round(4 / 7, 4)
    assert figures["in_scope_accuracy"] == round(3 / 5, 4)
    order = figures["per_intent"]["order"]
    assert (order["precision"], order["recall"], order["support"]) == (0.6667, 0.6667, 3)
    track = figures["per_intent"]["track"]
    assert (track["precision"], track["recall"]) == (0.5, 0.5)
    assert figures["macro_f1"] == round((0.6667 + 0.5) / 2, 4)


def test_out_of_scope_counts_no_match_as_oos():
    oos = report(OUTCOMES)["out_of_scope"]

    assert (oos["precision"], oos["recall"]) == (0.5, 0.5)
    assert (oos["support"], oos["predicted"]) == (2, 2)


def test_confusions_come_largest_first_and_errors_carry_alternatives():
    figures = report([*OUTCOMES, outcome("order", "track", 0.4)])

    assert figures["confusions"][0] == {"expected": "order", "predicted": "track", "count": 2}
    assert len(figures["errors"]) == 4
    assert figures["errors"][0]["confidence"] == 0.62  # most confident mistakes first
    assert figures["errors"][0]["alternatives"] == [{"intent": "other", "confidence": 0.05}]


def test_the_confidence_histogram_splits_right_from_wrong():
    histogram = report(OUTCOMES)["confidence_histogram"]

    assert sum(histogram["correct"]) == 4
    assert sum(histogram["wrong"]) == 3
    assert histogram["correct"][9] == 2  # 0.95 and 0.91
    assert histogram["wrong"][5] == 1  # 0.55


def test_entity_f1_is_per_type_on_exact_spans():
    entities = report(OUTCOMES)["entities"]

    assert entities["per_type"]["size"]["f1"] == 1.0
    assert entities["per_type"]["topping"]["f1"] == 0.0  # one character short is a miss
    assert entities["micro"] == {"precision": 0.5, "recall": 0.5, "f1": 0.5}


def examples(counts: dict[str, int]) -> list[Example]:
    return [
        Example(f"{intent} {n}", intent) for intent, count in counts.items() for n in range(count)
    ]


def test_the_holdout_split_keeps_every_intent_on_both_sides():
    train, test = split_holdout(examples({"a": 10, "b": 5, "c": 1}))

    assert sorted(e.intent for e in test) == ["a", "a", "b"]
    assert {e.intent for e in train} == {"a", "b", "c"}
    assert not {e.text for e in train} & {e.text for e in test}


def test_kfold_predicts_every_utterance_once_with_a_model_that_never_saw_it():
    data = examples({"a": 7, "b": 6})
    seen_by_model: list[set[str]] = []

    class Model:
        def __init__(self, texts: set[str]) -> None:
            self.texts = texts

        def parse_batch(self, texts):
            from nlu.model import Parse

            assert not set(texts) & self.texts
            return [Parse(text, text.split()[0], 0.9) for text in texts]

    def train(part: list[Example], progress):
        seen_by_model.append({e.text for e in part})
        return Model(seen_by_model[-1])

    outcomes = kfold_outcomes(data, train, folds=3)

    assert sorted(o.text for o in outcomes) == sorted(e.text for e in data)
    assert len(seen_by_model) == 3
    assert report(outcomes)["accuracy"] == 1.0
