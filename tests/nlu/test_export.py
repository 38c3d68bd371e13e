"""The served ONNX encoder gives the embeddings the training-time (torch) model gives."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from transformers import AutoModel, AutoTokenizer

from nlu.encoder import Encoder
from nlu.export import PooledEncoder, encoder_source_dir
from nlu.store import encoder_ensure

SENTENCES = [
    "where is my pizza?",
    "I'd like to change the delivery address to 12 Baker Street",
    "hi",
    "¿Dónde está mi pedido? 注文はどこですか",
]


@pytest.fixture(scope="module")
def torch_embeddings() -> np.ndarray:
    source = encoder_source_dir()
    model = PooledEncoder(
        AutoModel.from_pretrained(str(source), attn_implementation="eager").eval()
    )
    batch = AutoTokenizer.from_pretrained(str(source))(SENTENCES, padding=True, return_tensors="pt")
    with torch.no_grad():
        return model(batch["input_ids"], batch["attention_mask"]).numpy()


def test_the_float32_onnx_encoder_matches_torch(torch_embeddings: np.ndarray) -> None:
    encoder = Encoder(encoder_ensure(), variant="float32")
    one_by_one = np.stack([encoder.embed_one(text) for text in SENTENCES])
    assert np.abs(one_by_one - torch_embeddings).max() < 1e-4
    assert np.abs(encoder.embed(SENTENCES) - torch_embeddings).max() < 1e-4


def test_the_int8_encoder_stays_close_to_torch(torch_embeddings: np.ndarray) -> None:
    encoder = Encoder(encoder_ensure(), variant="int8")
    cosine = (encoder.embed(SENTENCES) * torch_embeddings).sum(axis=1)
    assert cosine.min() > 0.97


def test_padding_in_a_batch_does_not_change_an_embedding() -> None:
    encoder = Encoder(encoder_ensure(), variant="float32")
    batched = encoder.embed(SENTENCES)
    single = np.stack([encoder.embed_one(text) for text in SENTENCES])
    assert np.abs(batched - single).max() < 1e-4


def test_int8_batches_stay_close_to_single_utterances() -> None:
    # Dynamic quantisation scales activations per batch, so batching moves vectors a little.
    encoder = Encoder(encoder_ensure(), variant="int8")
    batched = encoder.embed(SENTENCES)
    single = np.stack([encoder.embed_one(text) for text in SENTENCES])
    assert (batched * single).sum(axis=1).min() > 0.97


def test_the_embedding_cache_stays_bounded_and_correct(monkeypatch: pytest.MonkeyPatch) -> None:
    from nlu import encoder as encoder_module

    monkeypatch.setattr(encoder_module, "CACHE_SIZE", 2)
    encoder = Encoder(encoder_ensure(), variant="float32")
    first = encoder.embed(SENTENCES)
    assert len(encoder._cache) == 2
    assert np.abs(encoder.embed(SENTENCES) - first).max() < 1e-6


def test_an_export_from_before_the_single_utterance_graph_still_serves(tmp_path: Path) -> None:
    # Fine-tuned encoders saved with a model before it existed have the batch graph only.
    source = encoder_ensure()
    old = tmp_path / "encoder"
    old.mkdir()
    manifest = json.loads((source / "manifest.json").read_text())
    del manifest["single"]
    (old / "manifest.json").write_text(json.dumps(manifest))
    for name in ("tokenizer.json", "model.int8.onnx"):
        (old / name).symlink_to(source / name)
    current = Encoder(source)
    legacy = Encoder(old)
    for text in SENTENCES:
        assert float(current.embed_one(text) @ legacy.embed_one(text)) > 0.999
