"""The sentence encoder as served: a tokenizer and an ONNX graph, nothing else.

Single utterances are tokenised without padding and run through a graph that takes no attention
mask; batches are sorted by length so each padded batch wastes little. Embeddings are cached by
the text's content hash, so retraining after an edit re-embeds only the utterances that changed.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import shutil
import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import onnxruntime as ort
from tokenizers import Tokenizer

CACHE_SIZE = 200_000  # sentence vectors kept in memory, about 300 MB

# onnxruntime fuses each residual Add + LayerNormalization into one SkipLayerNormalization. With
# onnxruntime 1.32 that node alone runs in 31 us on one utterance's 13 x 384 floats, against 10 us
# for the two ops it replaces; the encoder has 12 of them and runs 15-25 % faster without the
# fusion, in batches too (BENCHMARKS.md). 1.29-1.31 run the encoder as slowly, 1.24-1.28 do not.
DISABLED_OPTIMIZERS = ["SkipLayerNormFusion"]


def text_key(text: str) -> str:
    """The content hash an embedding is cached under."""
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


class Encoder:
    """Serves a sentence encoder directory written by ``nlu.export.encoder_export``."""

    def __init__(self, directory: Path, *, variant: str = "int8", threads: int = 1) -> None:
        self.directory = Path(directory)
        self.manifest = json.loads((self.directory / "manifest.json").read_text())
        self.variant = variant
        self.threads = threads
        self.dimensions: int = self.manifest["dimensions"]
        self.max_tokens: int = self.manifest["max_tokens"]
        self.tokenizer = Tokenizer.from_file(str(self.directory / "tokenizer.json"))
        self.tokenizer.no_padding()
        self.tokenizer.enable_truncation(self.max_tokens)
        # Exports before the single-utterance graph existed run one utterance as a batch of one.
        self._single = self.manifest.get("single", {}).get(variant)
        self.session = self._session(self._single or self.manifest["variants"][variant], threads)
        self._batch_session: ort.InferenceSession | None = None
        self._cache: dict[str, np.ndarray] = {}
        self._lock = threading.Lock()

    def _session(self, filename: str, threads: int) -> ort.InferenceSession:
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        return ort.InferenceSession(
            str(self.directory / filename),
            options,
            providers=["CPUExecutionProvider"],
            disabled_optimizers=DISABLED_OPTIMIZERS,
        )

    @property
    def batch_session(self) -> ort.InferenceSession:
        """Batches (training, evaluation) use every core; single utterances use ``threads``."""
        if self._batch_session is None:
            filename = self.manifest["variants"][self.variant]
            self._batch_session = self._session(filename, os.cpu_count() or 1)
        return self._batch_session

    @property
    def identity(self) -> str:
        """Names the weights, so cached embeddings are never mixed across encoders."""
        # The export is not byte-for-byte reproducible, but the weights and their package are.
        return f"{self.manifest['name']}:{self.variant}:{self.manifest['package']}"

    @property
    def finetuned(self) -> bool:
        """Fine-tuned on one assistant's utterances (accurate mode), so saved with its model."""
        return bool(self.manifest.get("finetuned"))

    def save(self, target: Path) -> None:
        """Write what serving this encoder needs (tokenizer, the served variant) to ``target``."""
        target.mkdir(parents=True, exist_ok=True)
        filename = self.manifest["variants"][self.variant]
        for name in ("tokenizer.json", filename, *([self._single] if self._single else [])):
            shutil.copyfile(self.directory / name, target / name)
        manifest = {
            **self.manifest,
            "variants": {self.variant: filename},
            "single": {self.variant: self._single} if self._single else {},
        }
        (target / "manifest.json").write_text(json.dumps(manifest, indent=2))

    def embed_one(self, text: str) -> np.ndarray:
        ids = np.asarray([self.tokenizer.encode(text).ids], dtype=np.int64)
        feed = {"input_ids": ids}
        if not self._single:
            feed["attention_mask"] = np.ones_like(ids)
        return self.session.run(["sentence_embedding"], feed)[0][0]

    def embed(self, texts: Sequence[str], *, batch_size: int = 64) -> np.ndarray:
        """Sentence vectors for many texts, from the cache where possible."""
        result = np.zeros((len(texts), self.dimensions), dtype=np.float32)
        keys = [text_key(text) for text in texts]
        missing: dict[str, str] = {}
        with self._lock:
            for row, key in enumerate(keys):
                cached = self._cache.get(key)
                if cached is None:
                    missing[key] = texts[row]
                else:
                    result[row] = cached
        if missing:
            fresh = dict(
                zip(
                    missing,
                    self._embed_uncached(list(missing.values()), batch_size=batch_size),
                    strict=True,
                )
            )
            for row, key in enumerate(keys):
                if key in fresh:
                    result[row] = fresh[key]
            self.remember(fresh)
        return result

    def remember(self, embeddings: dict[str, np.ndarray]) -> None:
        """Seed the cache, e.g. with the vectors a previous model was trained on."""
        with self._lock:
            self._cache.update(embeddings)
            # Oldest first out: a worker training many assistants keeps a bounded cache.
            for key in list(itertools.islice(self._cache, max(0, len(self._cache) - CACHE_SIZE))):
                del self._cache[key]

    def _embed_uncached(self, texts: list[str], *, batch_size: int) -> np.ndarray:
        encodings = self.tokenizer.encode_batch(texts)
        order = np.argsort([len(encoding.ids) for encoding in encodings], kind="stable")
        out = np.zeros((len(texts), self.dimensions), dtype=np.float32)
        for start in range(0, len(order), batch_size):
            rows = order[start : start + batch_size]
            width = max(len(encodings[row].ids) for row in rows)
            ids = np.zeros((len(rows), width), dtype=np.int64)
            mask = np.zeros_like(ids)
            for i, row in enumerate(rows):
                length = len(encodings[row].ids)
                ids[i, :length] = encodings[row].ids
                mask[i, :length] = 1
            out[rows] = self.batch_session.run(
                ["sentence_embedding"], {"input_ids": ids, "attention_mask": mask}
            )[0]
        return out
