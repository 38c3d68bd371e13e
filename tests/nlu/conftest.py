"""A small pizza-shop assistant's training data, and the shared encoder."""

from __future__ import annotations

import pytest

from nlu.data import EntitySpan, Example
from nlu.encoder import Encoder
from nlu.model import NluModel
from nlu.store import encoder_load

UTTERANCES = {
    "order_pizza": [
        "I want to order a pizza",
        "can I get a large pepperoni pizza",
        "order two margheritas please",
        "I'd like a pizza delivered",
        "get me a veggie pizza",
        "I want a medium hawaiian",
        "place an order for pizza",
        "can you bring me a pizza tonight",
    ],
    "track_order": [
        "where is my order",
        "track my delivery",
        "how long until my pizza arrives",
        "is my food on the way",
        "what's the status of my order",
        "my pizza is late",
        "when will the driver get here",
        "has my order shipped yet",
    ],
    "opening_hours": [
        "when are you open",
        "what time do you close",
        "are you open on sunday",
        "what are your opening hours",
        "is the shop open now",
        "until when can I order tonight",
        "do you open early on saturdays",
        "what are your hours on holidays",
    ],
    "greet": [
        "hello",
        "hi there",
        "good evening",
        "hey",
        "good morning",
        "hiya",
        "hello, anyone there?",
        "greetings",
    ],
}


def annotated(text: str, intent: str, **values: str) -> Example:
    """An utterance with an entity span around each of ``values`` (entity name = keyword)."""
    spans = []
    for entity, value in values.items():
        start = text.index(value)
        spans.append(EntitySpan(start, start + len(value), entity, value))
    return Example(text=text, intent=intent, entities=tuple(spans))


def pizza_examples() -> list[Example]:
    return [
        Example(text=text, intent=intent) for intent, texts in UTTERANCES.items() for text in texts
    ]


@pytest.fixture(scope="session")
def encoder() -> Encoder:
    return encoder_load()


@pytest.fixture(scope="session")
def pizza_model(encoder: Encoder) -> NluModel:
    return NluModel.train(pizza_examples(), encoder=encoder)
