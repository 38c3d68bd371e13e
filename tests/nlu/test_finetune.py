"""Accurate mode: the encoder fine-tuned on an assistant's own utterances, kept with its model."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from nlu.data import Example
from nlu.encoder import Encoder, text_key
from nlu.finetune import FinetuneConfig
from nlu.model import NluModel, TrainingConfig, _tuning_kept
from tests.nlu.conftest import UTTERANCES, pizza_examples

ACCURATE = TrainingConfig(
    mode="accurate", finetune=FinetuneConfig(epochs=4, batch_size=8), finetune_threads=1
)


@pytest.fixture(scope="module")
def progress() -> list[tuple[str, float, int]]:
    """(stage, fraction, torch's thread count at the time) of each report."""
    return []


@pytest.fixture(scope="module")
def threads_before() -> int:
    return torch.get_num_threads()


@pytest.fixture(scope="module")
def accurate_model(
    encoder: Encoder,
    pizza_model: NluModel,
    progress: list[tuple[str, float, int]],
    threads_before: int,
) -> NluModel:
    """Trained after a fast-mode model of the same utterances, as when a creator switches."""
    return NluModel.train(
        pizza_examples(),
        encoder=encoder,
        config=ACCURATE,
        previous=pizza_model,
        progress=lambda stage, fraction: progress.append(
            (stage, fraction, torch.get_num_threads())
        ),
    )


def separation(encoder: Encoder) -> float:
    """How much nearer each utterance is to its own intent's centre than to any other's."""
    vectors = {intent: encoder.embed(texts) for intent, texts in UTTERANCES.items()}
    centres = {intent: v.mean(0) / np.linalg.norm(v.mean(0)) for intent, v in vectors.items()}
    margins = [
        float(vector @ centres[intent])
        - max(float(vector @ centre) for other, centre in centres.items() if other != intent)
        for intent, rows in vectors.items()
        for vector in rows
    ]
    return float(np.mean(margins))


def test_fine_tuning_pulls_each_intents_utterances_together(
    accurate_model: NluModel, encoder: Encoder
) -> None:
    assert accurate_model.encoder is not encoder
    assert separation(accurate_model.encoder) > separation(encoder) + 0.02


def test_the_heads_learn_from_the_fine_tuned_vectors_not_the_previous_models(
    accurate_model: NluModel, pizza_model: NluModel
) -> None:
    key = text_key("where is my order")
    served = accurate_model.encoder.embed_one("where is my order")
    trained_on, before = accurate_model.training_vectors[key], pizza_model.training_vectors[key]
    assert not np.allclose(trained_on, before, atol=1e-3)
    assert float(trained_on @ served) > float(before @ served)


def test_an_accurate_model_serves_from_its_own_encoder(
    accurate_model: NluModel, encoder: Encoder
) -> None:
    assert accurate_model.manifest["mode"] == "accurate"
    assert accurate_model.manifest["encoder"] == accurate_model.encoder.identity
    assert accurate_model.encoder.identity != encoder.identity
    assert "+tuned-" in accurate_model.encoder.identity
    assert accurate_model.parse("could I get a pepperoni pizza").intent == "order_pizza"
    assert accurate_model.parse("is my pizza on its way").intent == "track_order"


def test_training_shows_progress_throughout_fine_tuning(
    accurate_model: NluModel, progress: list[tuple[str, float, int]]
) -> None:
    tuning = [fraction for stage, fraction, _ in progress if stage == "fine-tuning"]
    assert len(tuning) >= 4  # one report per step
    assert tuning == sorted(tuning)
    assert progress[-1][:2] == ("done", 1.0)
    assert all(fraction >= tuning[-1] for stage, fraction, _ in progress if stage != "fine-tuning")


def test_fine_tuning_keeps_to_the_threads_it_was_given_and_gives_them_back(
    accurate_model: NluModel, progress: list[tuple[str, float, int]], threads_before: int
) -> None:
    if threads_before == 1:
        pytest.skip("torch runs one thread here anyway: nothing to tell apart")
    assert {threads for stage, _, threads in progress if stage == "fine-tuning"} == {1}
    assert torch.get_num_threads() == threads_before


def test_a_saved_accurate_model_loads_with_its_encoder_and_no_pickle(
    accurate_model: NluModel, encoder: Encoder, tmp_path: Path
) -> None:
    accurate_model.save(tmp_path / "model")
    loaded = NluModel.load(tmp_path / "model", encoder=encoder)
    assert loaded.encoder.identity == accurate_model.encoder.identity
    for text in ["where is my order", "hi", "are you open late"]:
        assert loaded.parse(text) == accurate_model.parse(text)
    files = [path for path in (tmp_path / "model").rglob("*") if path.is_file()]
    assert {path.suffix for path in files} <= {".json", ".safetensors", ".onnx"}
    # The encoder's served variant only (its batch and single-utterance graphs), and the
    # classifier's nearness graph.
    assert sorted(
        str(path.relative_to(tmp_path / "model")) for path in files if path.suffix == ".onnx"
    ) == [
        "encoder/model.int8.onnx",
        "encoder/single.int8.onnx",
        "intents/nearness.onnx",
    ]


def test_a_small_edit_keeps_the_fine_tuned_encoder_and_trains_in_seconds(
    accurate_model: NluModel, encoder: Encoder
) -> None:
    edited = [*pizza_examples(), Example("do you have gluten free bases", "order_pizza")]
    stages: list[str] = []
    retrained = NluModel.train(
        edited,
        encoder=encoder,
        config=ACCURATE,
        previous=accurate_model,
        progress=lambda stage, fraction: stages.append(stage),
    )
    assert retrained.encoder is accurate_model.encoder
    assert "fine-tuning" not in stages
    assert retrained.manifest["mode"] == "accurate"
    assert retrained.manifest["tuning"]["changed"] == 1
    assert retrained.parse("a gluten free pizza please").intent == "order_pizza"


def test_edits_that_add_up_past_the_share_or_a_new_intent_tune_the_encoder_again(
    accurate_model: NluModel, encoder: Encoder
) -> None:
    picky = TrainingConfig(
        mode="accurate", finetune=ACCURATE.finetune, retune_share=2 / len(pizza_examples())
    )
    one = [*pizza_examples(), Example("do you have gluten free bases", "order_pizza")]
    first = NluModel.train(one, encoder=encoder, config=picky, previous=accurate_model)
    assert first.encoder is accurate_model.encoder
    two = [*one, Example("is the shop open at noon", "opening_hours")]
    three = [*two, Example("any news on my pizza", "track_order")]
    second = NluModel.train(two, encoder=encoder, config=picky, previous=first)
    assert second.encoder is accurate_model.encoder
    assert second.manifest["tuning"]["changed"] == 2
    third = NluModel.train(three, encoder=encoder, config=picky, previous=second)
    assert third.encoder is not accurate_model.encoder
    assert third.manifest["tuning"]["changed"] == 0
    # A new intent is one the encoder never learnt to set apart: that alone means tuning again.
    new_intent = [*one, Example("thanks a lot", "thanks"), Example("cheers, thank you", "thanks")]
    assert _tuning_kept(first, pairs_of(new_intent), ACCURATE) is None
    assert _tuning_kept(first, pairs_of(one), ACCURATE) is not None


def pairs_of(examples: list[Example]) -> set[tuple[str, str]]:
    return {(text_key(example.text), example.intent) for example in examples}


def test_an_unknown_mode_is_a_clear_error(encoder: Encoder) -> None:
    with pytest.raises(ValueError, match="unknown training mode 'thorough'"):
        NluModel.train(pizza_examples(), encoder=encoder, config=TrainingConfig(mode="thorough"))
