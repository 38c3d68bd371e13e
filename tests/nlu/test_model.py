"""Training and serving an assistant's NLU, as the builder and the runtime use it."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from nlu.data import EntitySpan, Example
from nlu.encoder import Encoder
from nlu.model import NluModel, TrainingConfig, _annotations, _spans_after_edit
from tests.nlu.conftest import annotated, pizza_examples


def test_it_recognises_paraphrases_it_never_saw(pizza_model: NluModel) -> None:
    cases = {
        "could I order a pepperoni pizza for delivery": "order_pizza",
        "where's my food, it's been an hour": "track_order",
        "are you guys open tomorrow morning": "opening_hours",
        "hey there!": "greet",
    }
    for text, intent in cases.items():
        parse = pizza_model.parse(text)
        assert parse.intent == intent, (text, parse)
        assert parse.ranking[0].name == intent
        assert parse.ranking[0].confidence == parse.confidence


def test_the_ranking_lists_alternatives_best_first(pizza_model: NluModel) -> None:
    parse = pizza_model.parse("where is my pizza")
    ranking = parse.ranking
    assert next(match.name for match in ranking) == "track_order"
    assert len(ranking) == 4
    confidences = [match.confidence for match in ranking]
    assert confidences == sorted(confidences, reverse=True)
    assert confidences[0] == parse.confidence
    # Tempered alike: the candidates keep the classifier's proportions.
    embedding = pizza_model.encoder.embed_one(parse.text)
    probabilities = pizza_model.classifier.probabilities_one(embedding, parse.text)
    shares = sorted(probabilities, reverse=True)
    assert [c / confidences[0] for c in confidences] == pytest.approx(
        [p / shares[0] for p in shares], abs=1e-4
    )


def test_out_of_scope_utterances_come_back_as_no_match_when_calibrated_on_examples(
    encoder: Encoder,
) -> None:
    validation = [
        *(
            Example(text=t, intent=i)
            for t, i in [
                ("I'd love a cheese pizza", "order_pizza"),
                ("where's the delivery guy", "track_order"),
                ("what time do you open today", "opening_hours"),
                ("hello again", "greet"),
            ]
        ),
        Example(text="what is the capital of peru", intent="oos"),
        Example(text="how do I renew my passport", intent="oos"),
        Example(text="play some jazz music", intent="oos"),
    ]
    model = NluModel.train(pizza_examples(), encoder=encoder, validation=validation)
    assert model.manifest["threshold_source"] == (
        "validation set, correct-answer quantile, rejects 100.0% of 3 out-of-scope examples"
    )
    assert model.parse("how tall is mount everest").intent is None
    assert model.parse("I want to order a pizza").intent == "order_pizza"


@pytest.mark.parametrize(
    "text", ["what is the capital of peru", "how tall is mount everest", "play some jazz music"]
)
def test_off_topic_text_is_no_match_without_any_out_of_scope_examples(
    pizza_model: NluModel, text: str
) -> None:
    parse = pizza_model.parse(text)
    assert parse.intent is None, parse
    assert parse.confidence < pizza_model.threshold


def test_out_of_scope_training_examples_are_no_intent_but_measure_no_match(
    encoder: Encoder,
) -> None:
    outside = ["what is the capital of peru", "how do I renew my passport", "who won the world cup"]
    examples = [*pizza_examples(), *(Example(text=t, intent="oos") for t in outside)]
    model = NluModel.train(examples, encoder=encoder)
    assert "oos" not in model.classifier.labels
    assert model.manifest["threshold_source"].endswith("of 3 out-of-scope examples")
    assert model.parse("play some jazz music").intent is None
    assert model.parse("I want to order a pizza").intent == "order_pizza"


def test_a_creator_threshold_overrides_the_calibrated_one(pizza_model: NluModel) -> None:
    assert pizza_model.parse("where is my order").intent == "track_order"
    assert pizza_model.parse("where is my order", threshold=1.01).intent is None


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "🍕🍕🍕",
        "x" * 10_000,
        "where is my order " * 700,
        "我的披萨在哪里 pizza où est-elle",
    ],
)
def test_odd_input_gets_a_defined_answer(pizza_model: NluModel, text: str) -> None:
    parse = pizza_model.parse(text)
    assert parse.text == text
    assert 0.0 <= parse.confidence <= 1.0
    if not text.strip():
        assert parse.intent is None
        assert parse.ranking == []


def test_fewer_than_two_intents_is_a_clear_error(encoder: Encoder) -> None:
    with pytest.raises(ValueError, match="at least two intents"):
        NluModel.train([Example("hello", "greet"), Example("hi", "greet")], encoder=encoder)
    with pytest.raises(ValueError, match="at least two intents"):
        NluModel.train([], encoder=encoder)


def test_a_saved_model_loads_and_answers_the_same_without_pickle(
    pizza_model: NluModel, encoder: Encoder, tmp_path: Path
) -> None:
    pizza_model.save(tmp_path / "model")
    loaded = NluModel.load(tmp_path / "model", encoder=encoder)
    for text in ["where is my order", "hi", "are you open late"]:
        assert loaded.parse(text) == pizza_model.parse(text)
    suffixes = {path.suffix for path in (tmp_path / "model").rglob("*") if path.is_file()}
    assert suffixes <= {".json", ".safetensors", ".onnx"}


def test_a_saved_model_serves_with_onnxruntime_alone(
    pizza_model: NluModel, encoder: Encoder, tmp_path: Path
) -> None:
    # The nearness graph is built with the onnx package at training and saved with the model.
    pizza_model.save(tmp_path / "model")
    script = (
        "import sys; from pathlib import Path; from nlu.encoder import Encoder; "
        "from nlu.model import NluModel; "
        f"model = NluModel.load(Path({str(tmp_path / 'model')!r}), "
        f"encoder=Encoder(Path({str(encoder.directory)!r}))); "
        "print(model.parse('where is my order').intent, 'onnx' in sys.modules)"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert done.stdout.split() == ["track_order", "False"]


def test_editing_one_intent_refits_only_that_intent(
    pizza_model: NluModel, encoder: Encoder, tmp_path: Path
) -> None:
    pizza_model.save(tmp_path / "before")
    previous = NluModel.load(tmp_path / "before", encoder=encoder)
    edited = [*pizza_examples(), Example("do you have gluten free bases", "order_pizza")]
    assert NluModel.train(edited, encoder=encoder, previous=previous).manifest["training"] == {
        "kind": "full"  # a small assistant retrains (and recalibrates) fully: it is as quick
    }
    quick = TrainingConfig(incremental_min_utterances=0)  # as if it were large
    retrained = NluModel.train(edited, encoder=encoder, previous=previous, config=quick)
    assert retrained.manifest["training"] == {
        "kind": "incremental",
        "refitted_intents": ["order_pizza"],
        "entities": "kept",
    }
    assert retrained.threshold == previous.threshold
    assert retrained.parse("a gluten free pizza please").intent == "order_pizza"
    assert retrained.parse("where is my order").intent == "track_order"


def test_a_new_intent_is_learnt_on_retraining(pizza_model: NluModel, encoder: Encoder) -> None:
    goodbyes = ["bye", "goodbye", "see you later", "thanks, bye", "have a good night", "cya"]
    edited = [*pizza_examples(), *(Example(text, "goodbye") for text in goodbyes)]
    retrained = NluModel.train(edited, encoder=encoder, previous=pizza_model)
    assert "goodbye" in retrained.manifest["labels"]
    assert retrained.parse("ok bye now").intent == "goodbye"


def test_entities_come_back_with_offsets_into_the_original_text(encoder: Encoder) -> None:
    sizes = ["small", "medium", "large", "family size", "extra large"]
    examples = list(pizza_examples())
    for size in sizes:
        for template in ["I want a {} pizza", "can I get a {} margherita", "order a {} one"]:
            text = template.format(size)
            start = text.index(size)
            examples.append(
                Example(
                    text=text,
                    intent="order_pizza",
                    entities=(EntitySpan(start, start + len(size), "size", size),),
                )
            )
    model = NluModel.train(examples, encoder=encoder)
    parse = model.parse("  I want a large pizza tonight")
    assert parse.intent == "order_pizza"
    [found] = parse.entities
    assert (found.entity, found.text) == ("size", "large")
    assert parse.text[found.start : found.end] == "large"
    assert model.manifest["entities"] == ["size"]


def test_an_assistant_with_two_intents_tells_them_apart_and_can_grow(encoder: Encoder) -> None:
    two = [e for e in pizza_examples() if e.intent in ("order_pizza", "track_order")]
    model = NluModel.train(two, encoder=encoder)

    order = model.parse("I'd like to order a large pizza")
    track = model.parse("where is my delivery")
    grown = NluModel.train(
        [*two, *(e for e in pizza_examples() if e.intent == "opening_hours")],
        encoder=encoder,
        previous=model,
    )

    assert (order.intent, track.intent) == ("order_pizza", "track_order")
    assert 0.5 < order.confidence < 1.0
    assert {match.name for match in order.ranking} == {"order_pizza", "track_order"}
    assert grown.parse("when do you open on sunday").intent == "opening_hours"


def annotated_pizza_examples(*, toppings: bool = False) -> list[Example]:
    examples = list(pizza_examples())
    for size in ["small", "medium", "large", "family size"]:
        for template in ["I want a {} pizza", "can I get a {} margherita", "order a {} one"]:
            examples.append(annotated(template.format(size), "order_pizza", size=size))
    for number in ["1234", "5678", "9012", "3456"]:
        for template in ["where is order {}", "track order {} please", "status of order {}"]:
            examples.append(annotated(template.format(number), "track_order", order=number))
    if toppings:
        for topping in ["mushrooms", "olives", "ham", "pineapple"]:
            for template in ["a pizza with {}", "add {} to my pizza", "extra {} please"]:
                examples.append(annotated(template.format(topping), "order_pizza", topping=topping))
    return examples


def test_editing_one_intents_annotations_relearns_only_its_entities(
    encoder: Encoder, tmp_path: Path
) -> None:
    quick = TrainingConfig(incremental_min_utterances=0)  # as if it were large
    previous = NluModel.train(annotated_pizza_examples(), encoder=encoder, config=quick)
    edited = annotated_pizza_examples(toppings=True)
    retrained = NluModel.train(edited, encoder=encoder, previous=previous, config=quick)
    assert retrained.manifest["training"]["entities"] == ["order_pizza"]
    retrained.save(tmp_path / "model")
    loaded = NluModel.load(tmp_path / "model", encoder=encoder)
    for model in (retrained, loaded):
        found = model.parse("extra olives please").entities
        assert [(e.entity, e.text) for e in found] == [("topping", "olives")]
        found = model.parse("where is order 5678").entities
        assert [(e.entity, e.text) for e in found] == [("order", "5678")]
        assert model.manifest["entities"] == ["order", "size", "topping"]
    again = NluModel.train(edited, encoder=encoder, previous=loaded, config=quick)
    assert again.manifest["training"]["entities"] == "kept"


def test_too_many_intents_apart_from_the_joint_entity_model_retrain_it(encoder: Encoder) -> None:
    quick = TrainingConfig(incremental_min_utterances=0)
    base = annotated_pizza_examples()
    previous = NluModel.train(base, encoder=encoder, config=quick)
    toppings = annotated_pizza_examples(toppings=True)
    refitted, what = _spans_after_edit(previous, toppings, _annotations(toppings), quick, limit=1)
    assert what == ["order_pizza"]
    assert refitted is not None
    previous.spans, previous.manifest["annotations"] = refitted, _annotations(toppings)
    # Now track_order's annotations change as well: two intents would stand apart.
    renamed = [
        replace(e, entities=tuple(replace(s, entity="order_number") for s in e.entities))
        if e.intent == "track_order"
        else e
        for e in toppings
    ]
    retrained, what = _spans_after_edit(previous, renamed, _annotations(renamed), quick, limit=1)
    assert what == "retrained"
    assert retrained is not None
    assert retrained.refitted == {}
    assert retrained.entity_types == ["order_number", "size", "topping"]


def test_a_model_from_before_per_intent_fingerprints_retrains_its_entities(
    encoder: Encoder,
) -> None:
    quick = TrainingConfig(incremental_min_utterances=0)
    previous = NluModel.train(annotated_pizza_examples(), encoder=encoder, config=quick)
    previous.manifest["annotations"] = "0c9b0bd4"  # one fingerprint of all annotations
    edited = annotated_pizza_examples(toppings=True)
    _, what = _spans_after_edit(previous, edited, _annotations(edited), quick, limit=3)
    assert what == "retrained"
