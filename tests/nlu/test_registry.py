"""Model versions per assistant, and the live swap when a new one is published."""

from __future__ import annotations

import gc
import threading
from pathlib import Path

import pytest

from nlu import registry as registry_module
from nlu.data import Example
from nlu.encoder import Encoder
from nlu.model import NluModel
from nlu.registry import ModelRegistry, NotPublished
from tests.nlu.conftest import pizza_examples


@pytest.fixture
def registry(tmp_path: Path, encoder: Encoder) -> ModelRegistry:
    return ModelRegistry(tmp_path, encoder)


def test_an_assistant_without_a_published_model_says_so(registry: ModelRegistry) -> None:
    with pytest.raises(NotPublished):
        registry.published_model(7)


def test_a_served_model_is_kept_out_of_the_collectors_full_passes(
    registry: ModelRegistry, pizza_model: NluModel
) -> None:
    registry.save(7, "v1", pizza_model)
    registry.publish(7, "v1")
    gc.unfreeze()
    served = registry.published_model(7)

    assert gc.is_tracked(served.manifest)
    assert all(thing is not served.manifest for thing in gc.get_objects())


def test_publishing_a_new_version_swaps_it_in_and_rollback_swaps_back(
    registry: ModelRegistry, pizza_model: NluModel, encoder: Encoder
) -> None:
    farewells = ["bye", "goodbye", "see you", "bye bye", "cya later", "good night, bye"]
    bigger = NluModel.train(
        [*pizza_examples(), *(Example(text, "goodbye") for text in farewells)], encoder=encoder
    )
    registry.save(7, "v1", pizza_model)
    registry.save(7, "v2", bigger)
    registry.publish(7, "v1")
    assert "goodbye" not in registry.published_model(7).manifest["labels"]
    registry.publish(7, "v2")
    assert registry.published_model(7).parse("goodbye now").intent == "goodbye"
    registry.publish(7, "v1")
    assert "goodbye" not in registry.published_model(7).manifest["labels"]
    assert registry.versions(7) == ["v1", "v2"]


def test_another_process_sees_a_publish_within_the_check_interval(
    tmp_path: Path, encoder: Encoder, pizza_model: NluModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    writer = ModelRegistry(tmp_path, encoder)
    reader = ModelRegistry(tmp_path, encoder)  # stands for a second worker process
    writer.save(3, "a", pizza_model)
    writer.save(3, "b", pizza_model)
    writer.publish(3, "a")
    first = reader.published_model(3)
    writer.publish(3, "b")
    monkeypatch.setattr(registry_module, "CHECK_INTERVAL_S", 0.0)
    assert reader.published_model(3) is not first
    assert reader.published_version(3) == "b"


def test_requests_during_a_swap_are_all_answered(
    registry: ModelRegistry, pizza_model: NluModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(registry_module, "CHECK_INTERVAL_S", 0.0)
    for version in ["v1", "v2", "v3"]:
        registry.save(1, version, pizza_model)
    registry.publish(1, "v1")
    answers: list[str | None] = []
    errors: list[BaseException] = []

    def chat() -> None:
        try:
            for _ in range(40):
                answers.append(registry.published_model(1).parse("where is my order").intent)
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=chat) for _ in range(4)]
    for thread in threads:
        thread.start()
    for version in ["v2", "v3", "v1", "v2"]:
        registry.publish(1, version)
    for thread in threads:
        thread.join()
    assert errors == []
    assert answers == ["track_order"] * 160


def test_versions_are_immutable_and_names_are_checked(
    registry: ModelRegistry, pizza_model: NluModel
) -> None:
    registry.save(2, "v1", pizza_model)
    with pytest.raises(FileExistsError):
        registry.save(2, "v1", pizza_model)
    with pytest.raises(ValueError, match="invalid model version"):
        registry.save(2, "../escape", pizza_model)
    with pytest.raises(LookupError, match="no model version 'v9'"):
        registry.publish(2, "v9")
