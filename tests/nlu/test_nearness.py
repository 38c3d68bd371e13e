from __future__ import annotations

import numpy as np

from nlu.nearness import Nearness


def unit_rows(rng: np.random.Generator, rows: int) -> np.ndarray:
    vectors = rng.normal(size=(rows, 384)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def test_int8_nearness_is_the_float_cosine_to_the_nearest_prototype_within_a_hair() -> None:
    rng = np.random.default_rng(0)
    prototypes = unit_rows(rng, 500)
    # Utterances near one prototype each, as real ones lie near their intent's utterances.
    utterances = prototypes[rng.integers(0, 500, 200)] + 0.05 * unit_rows(rng, 200)
    utterances /= np.linalg.norm(utterances, axis=1, keepdims=True)
    expected = (utterances @ prototypes.T).max(axis=1)
    actual = Nearness(prototypes).of(utterances)
    assert np.abs(actual - expected).max() < 0.01
    assert (actual > 0.9).all()


def test_a_batch_gets_exactly_what_its_rows_get_one_at_a_time() -> None:
    rng = np.random.default_rng(1)
    nearness = Nearness(unit_rows(rng, 300))
    utterances = unit_rows(rng, 50) * rng.uniform(0.5, 2.0, size=(50, 1)).astype(np.float32)
    batch = nearness.of(utterances)
    assert [nearness.of_one(row) for row in utterances] == batch.tolist()


def test_without_prototypes_every_utterance_is_as_far_as_can_be() -> None:
    nearness = Nearness(np.zeros((0, 384), dtype=np.float32))
    assert nearness.of(np.ones((3, 384), dtype=np.float32)).tolist() == [-1.0, -1.0, -1.0]
    assert nearness.of_one(np.ones(384, dtype=np.float32)) == -1.0


def test_a_zero_vector_is_near_nothing_and_does_not_break_the_product() -> None:
    rng = np.random.default_rng(2)
    assert Nearness(unit_rows(rng, 10)).of_one(np.zeros(384, dtype=np.float32)) == 0.0
