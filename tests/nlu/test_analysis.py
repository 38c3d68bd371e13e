"""Clarity and conflicts on the pizza shop's data, with trouble planted in it."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from nlu.analysis import NotAnalysable, analyse, nearest, placement
from nlu.data import OUT_OF_SCOPE, Example
from nlu.encoder import Encoder
from tests.nlu.conftest import UTTERANCES, pizza_examples

# Two intents that mean the same thing: the model cannot tell them apart.
CANCEL = [
    "cancel my order",
    "I want to cancel the pizza I ordered",
    "please cancel my order",
    "stop my order, I don't want it",
    "can I cancel the order I just placed",
    "I changed my mind, cancel it",
]
CALL_OFF = [
    "call off my order",
    "I don't want my order anymore, cancel it",
    "cancel the pizza order please",
    "please call off the pizza I ordered",
    "undo my order",
    "scrap the order I placed",
]


def examples_with(**intents: list[str]) -> list[Example]:
    return pizza_examples() + [
        Example(text, name) for name, texts in intents.items() for text in texts
    ]


def kinds(report: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [conflict for conflict in report["conflicts"] if conflict["kind"] == kind]


def test_clear_intents_score_high_and_overlapping_ones_low(encoder: Encoder) -> None:
    report = analyse(examples_with(cancel_order=CANCEL, call_off_order=CALL_OFF), encoder)

    clarity = {name: row["clarity"] for name, row in report["intents"].items()}
    assert set(sorted(clarity, key=clarity.__getitem__)[:2]) == {"cancel_order", "call_off_order"}
    assert clarity["greet"] > clarity["cancel_order"] + 20
    assert 0 <= report["clarity"] <= 100
    assert "least clear" in report["explanation"]

    pairs = kinds(report, "confused_pair")
    assert set(pairs[0]["intents"]) == {"cancel_order", "call_off_order"}
    assert "mixes up" in pairs[0]["message"]
    assert pairs[0]["utterances"], "the pair shows the utterances that cross over"

    cancel = report["intents"]["cancel_order"]
    assert cancel["confused_with"][0]["intent"] == "call_off_order"
    assert cancel["dragging"], "the utterances dragging the score down are listed"
    assert "call_off_order" in cancel["explanation"]


def test_separable_data_is_clear_and_has_no_conflicts(encoder: Encoder) -> None:
    report = analyse(pizza_examples(), encoder)

    assert report["clarity"] >= 90
    assert report["utterances"] == sum(len(texts) for texts in UTTERANCES.values())
    assert not kinds(report, "duplicate")
    assert not kinds(report, "near_duplicate")


def test_utterances_put_in_the_wrong_intent_are_flagged_with_where_they_belong(
    encoder: Encoder,
) -> None:
    injected = UTTERANCES["track_order"][:3]
    examples = [
        Example(e.text, "opening_hours") if e.text in injected else e for e in pizza_examples()
    ]

    report = analyse(examples, encoder)

    misplaced = {c["utterances"][0]["text"]: c for c in kinds(report, "misplaced")}
    assert set(injected) <= set(misplaced)
    for text in injected:
        assert misplaced[text]["suggested_intent"] == "track_order"
        assert misplaced[text]["intents"] == ["opening_hours"]
        assert "Move it to track_order" in misplaced[text]["message"]


def test_exact_and_near_duplicates_across_intents_are_conflicts(encoder: Encoder) -> None:
    examples = [
        *pizza_examples(),
        Example("Where is my order", "greet"),  # the same as track_order's, another case
        Example("where is my order?!", "opening_hours"),
        Example("what's the status of my order please", "order_pizza"),
    ]

    report = analyse(examples, encoder)

    duplicates = kinds(report, "duplicate")
    assert len(duplicates) == 1
    assert duplicates[0]["intents"] == ["greet", "opening_hours", "track_order"]
    assert len(duplicates[0]["utterances"]) == 3
    near = kinds(report, "near_duplicate")
    pairs = [{row["text"] for row in conflict["utterances"]} for conflict in near]
    assert {"what's the status of my order", "what's the status of my order please"} in pairs
    # The exact copies are reported once, as a duplicate, not again as near duplicates.
    assert not any(
        pair <= {"where is my order", "Where is my order", "where is my order?!"} for pair in pairs
    )


def test_out_of_scope_examples_are_left_out_and_tiny_data_is_refused(encoder: Encoder) -> None:
    report = analyse([*pizza_examples(), Example("tell me a joke", OUT_OF_SCOPE)], encoder)
    assert OUT_OF_SCOPE not in report["intents"]

    with pytest.raises(NotAnalysable, match="two intents"):
        analyse([Example("hi", "greet"), Example("hello", "greet"), Example("bye", "bye")], encoder)


def test_nearest_skips_itself_and_orders_by_similarity() -> None:
    vectors = np.eye(3, dtype=np.float32)
    vectors[2] = [0.8, 0.6, 0.0]

    found = nearest(vectors, vectors, 2, exclude_self=True)

    assert found.index[0].tolist() == [2, 1]
    assert found.index[2][0] == 0
    assert found.similarity[0][0] == pytest.approx(0.8)


def test_placement_names_the_intent_a_candidate_sits_with(encoder: Encoder) -> None:
    known = pizza_examples()
    vectors = encoder.embed([e.text for e in known])

    found = placement(
        encoder.embed(["what time do you open tomorrow", "I'd love a large pizza"]),
        "order_pizza",
        vectors,
        [e.intent for e in known],
        [e.text for e in known],
    )

    assert found[0] is not None
    assert found[0]["intent"] == "opening_hours"
    assert found[0]["similar"] in UTTERANCES["opening_hours"]
    assert found[1] is None
