"""The trainable span extractor, and its numpy tagger against CRFsuite's own."""

from __future__ import annotations

from pathlib import Path

import pycrfsuite
import pytest

from nlu.data import Example
from nlu.spans import (
    Span,
    SpanExtractor,
    bio_labels,
    spans_from_labels,
    token_features,
    tokenize,
)
from tests.nlu.conftest import annotated

CITIES = ["Paris", "Berlin", "Lisbon", "Oslo", "Rome", "Madrid", "Vienna", "Prague"]
DAYS = ["today", "tomorrow", "on friday", "next week", "on monday", "tonight"]


def training_examples() -> list[Example]:
    examples = []
    for i, city in enumerate(CITIES):
        day = DAYS[i % len(DAYS)]
        examples += [
            annotated(f"weather in {city} {day}", "weather", city=city, day=day),
            annotated(f"will it rain in {city} {day}", "weather", city=city, day=day),
            annotated(f"book a flight to {city}", "flight", city=city),
            annotated(f"I need a ticket to {city} {day}", "flight", city=city, day=day),
        ]
    return examples


@pytest.fixture(scope="module")
def extractor() -> SpanExtractor:
    return SpanExtractor().train(training_examples())


def test_it_finds_entities_in_new_sentences(extractor: SpanExtractor) -> None:
    text = "what's the weather in Madrid tomorrow"
    spans = extractor.tag(text, "weather")
    assert Span(22, 28, "city", "Madrid") in spans
    assert Span(29, 37, "day", "tomorrow") in spans


def test_the_numpy_tagger_agrees_with_crfsuite(tmp_path: Path) -> None:
    examples = training_examples()
    trainer = pycrfsuite.Trainer(verbose=False)
    for example in examples:
        tokens = tokenize(example.text)
        trainer.append(token_features(tokens, example.intent), bio_labels(example, tokens))
    config = SpanExtractor().config
    trainer.set_params(
        {
            "c1": config.c1,
            "c2": config.c2,
            "max_iterations": config.max_iterations,
            "feature.possible_transitions": True,
        }
    )
    trainer.train(str(tmp_path / "model.crfsuite"))
    reference = pycrfsuite.Tagger()
    reference.open(str(tmp_path / "model.crfsuite"))
    ours = SpanExtractor().train(examples)
    for text, intent in [
        ("weather in Vienna on monday", "weather"),
        ("a ticket to Oslo next week please", "flight"),
        ("is it sunny in Atlantis", "weather"),
        ("hello", "flight"),
    ]:
        tokens = tokenize(text)
        expected = spans_from_labels(text, tokens, reference.tag(token_features(tokens, intent)))
        assert ours.tag(text, intent) == expected


def test_a_saved_extractor_tags_the_same(extractor: SpanExtractor, tmp_path: Path) -> None:
    extractor.save(tmp_path / "spans")
    loaded = SpanExtractor.load(tmp_path / "spans")
    text = "book a flight to Rome on friday"
    assert loaded.tag(text, "flight") == extractor.tag(text, "flight")
    assert loaded.entity_types == ["city", "day"]


@pytest.mark.parametrize("text", ["", "   ", "🎉🎉", "Ümlaut straße 東京 weather"])
def test_odd_text_gives_a_list(extractor: SpanExtractor, text: str) -> None:
    assert isinstance(extractor.tag(text, None), list)


def test_an_i_label_that_changes_entity_starts_a_new_span() -> None:
    text = "fly Paris Rome"
    tokens = tokenize(text)
    spans = spans_from_labels(text, tokens, ["O", "I-city", "I-day"])
    assert spans == [Span(4, 9, "city", "Paris"), Span(10, 14, "day", "Rome")]


def seat_examples() -> list[Example]:
    """The flight intent as a creator edited it: a new entity, the class of seat."""
    return [
        annotated(f"a ticket to {city} in {seat} class", "flight", city=city, seat=seat)
        for city in CITIES
        for seat in ("business", "economy", "first")
    ]


def test_refitting_an_intent_learns_its_new_annotations_and_keeps_the_others(
    extractor: SpanExtractor, tmp_path: Path
) -> None:
    refitted = extractor.refit([*training_examples(), *seat_examples()], {"flight"})
    text = "a ticket to Madrid in business class"
    assert Span(22, 30, "seat", "business") in refitted.tag(text, "flight")
    assert Span(12, 18, "city", "Madrid") in refitted.tag(text, "flight")
    assert not any(span.entity == "seat" for span in extractor.tag(text, "flight"))
    weather = ["weather in Vienna on monday", "will it rain in Prague tonight"]
    assert [refitted.tag(t, "weather") for t in weather] == [
        extractor.tag(t, "weather") for t in weather
    ]
    assert refitted.entity_types == ["city", "day", "seat"]

    refitted.save(tmp_path / "spans")
    loaded = SpanExtractor.load(tmp_path / "spans")
    assert loaded.tag(text, "flight") == refitted.tag(text, "flight")
    assert loaded.tag(weather[0], "weather") == extractor.tag(weather[0], "weather")
    assert loaded.entity_types == ["city", "day", "seat"]


def test_an_intent_refitted_without_annotations_finds_nothing(
    extractor: SpanExtractor, tmp_path: Path
) -> None:
    unannotated = [
        Example(e.text, e.intent) if e.intent == "weather" else e for e in training_examples()
    ]
    refitted = extractor.refit(unannotated, {"weather"})
    assert extractor.tag("weather in Rome today", "weather") != []
    assert refitted.tag("weather in Rome today", "weather") == []
    refitted.save(tmp_path / "spans")
    assert SpanExtractor.load(tmp_path / "spans").tag("weather in Rome today", "weather") == []


def test_an_intent_it_never_learnt_gets_no_spans(extractor: SpanExtractor) -> None:
    # As an intent added by a quick retrain without annotations: the same as a full training.
    assert extractor.tag("a hotel in Paris tomorrow", "hotel") == []
    assert extractor.tag("a hotel in Paris tomorrow", "weather") != []
