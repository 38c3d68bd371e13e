"""Accurate mode: fine-tune the encoder on an assistant's own utterances before the heads train.

The packaged encoder learnt sentence similarity in general; a creator's intents draw their own
lines. Fine-tuning trains the encoder with a cosine classifier on top (each normalised sentence
vector against one normalised weight vector per intent, logits scaled by ``scale``), the
weights starting at each intent's mean vector. Cross-entropy then pulls an intent's utterances
together and pushes the other intents' away, which is what the fast-mode heads and the nearness
to prototypes read afterwards. The cosine head itself is thrown away.

Two epochs, AdamW with warm-up and linear decay, batches of utterances of similar length. The
result is exported like the packaged encoder (ONNX, int8), into the model's own directory, and
served by onnxruntime alone. Figures in BENCHMARKS.md.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import tempfile
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from nlu.data import OUT_OF_SCOPE, Example


@dataclass(frozen=True)
class FinetuneConfig:
    epochs: float = 2.0
    batch_size: int = 32
    learning_rate: float = 3e-5  # the encoder's
    head_learning_rate: float = 3e-3  # the cosine head's
    warmup: float = 0.1  # share of the steps
    scale: float = 20.0
    max_tokens: int = 64
    seed: int = 0


def fingerprint(examples: list[Example], config: FinetuneConfig) -> str:
    """What a fine-tuned encoder learnt from: its name, so vectors are never mixed up."""
    learnt = [sorted((e.text, e.intent) for e in examples), asdict(config)]
    return hashlib.blake2b(json.dumps(learnt).encode(), digest_size=8).hexdigest()


def encoder_finetune(
    examples: list[Example],
    target: Path,
    *,
    config: FinetuneConfig | None = None,
    progress: Callable[[float], None] = lambda fraction: None,
    threads: int | None = None,
) -> dict[str, Any]:
    """Fine-tune on the in-scope ``examples`` and export the encoder to ``target``.

    Returns the export's manifest. ``progress`` gets the share of training steps done;
    ``threads`` caps the cores torch uses (all of them by default).
    """
    import torch
    from transformers import AutoModel, AutoTokenizer
    from transformers.utils import logging as transformers_logging

    from nlu.export import encoder_export, encoder_source_dir

    transformers_logging.set_verbosity_error()
    transformers_logging.disable_progress_bar()
    config = config or FinetuneConfig()
    scoped = [e for e in examples if e.intent != OUT_OF_SCOPE and e.text.strip()]
    labels = sorted({e.intent for e in scoped})
    if len(labels) < 2:
        raise ValueError("fine-tuning needs utterances of at least two intents")
    texts = [e.text for e in scoped]
    index = {label: i for i, label in enumerate(labels)}
    targets = torch.tensor([index[e.intent] for e in scoped])

    torch.manual_seed(config.seed)
    shuffler = np.random.default_rng(config.seed)
    before = torch.get_num_threads()
    torch.set_num_threads(threads or os.cpu_count() or 1)
    source = encoder_source_dir()
    tokenizer = AutoTokenizer.from_pretrained(str(source))
    model = AutoModel.from_pretrained(str(source))

    def embed(batch: list[str]) -> torch.Tensor:
        inputs = tokenizer(
            batch,
            padding=True,
            truncation=True,
            max_length=config.max_tokens,
            return_tensors="pt",
        )
        tokens = model(**inputs)[0]
        mask = inputs["attention_mask"].unsqueeze(-1).to(tokens.dtype)
        pooled = (tokens * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
        return torch.nn.functional.normalize(pooled, dim=-1)

    try:
        model.eval()
        with torch.no_grad():
            start = torch.cat([embed(texts[i : i + 256]) for i in range(0, len(texts), 256)])
        means = torch.stack([start[targets == c].mean(0) for c in range(len(labels))])
        head = torch.nn.Parameter(torch.nn.functional.normalize(means, dim=-1))
        optimizer = torch.optim.AdamW(
            [
                {"params": model.parameters(), "lr": config.learning_rate},
                {"params": [head], "lr": config.head_learning_rate},
            ],
            weight_decay=0.01,
        )
        steps = max(1, math.ceil(len(texts) * config.epochs / config.batch_size))
        warmup = max(1, int(config.warmup * steps))
        scheduler = torch.optim.lr_scheduler.LambdaLR(
            optimizer, lambda step: min(1.0, (step + 1) / warmup) * max(0.0, 1 - step / steps)
        )
        model.train()
        step = 0
        while step < steps:
            for rows in _length_batches(texts, config.batch_size, shuffler):
                if step == steps:
                    break
                logits = (
                    config.scale
                    * embed([texts[i] for i in rows])
                    @ (torch.nn.functional.normalize(head, dim=-1).T)
                )
                loss = torch.nn.functional.cross_entropy(logits, targets[rows])
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                scheduler.step()
                step += 1
                progress(step / steps)
        model.eval()
        with tempfile.TemporaryDirectory(prefix="nlu-finetune-") as work:
            model.save_pretrained(work)
            tokenizer.save_pretrained(work)
            finetuned = {
                "fingerprint": fingerprint(scoped, config),
                "utterances": len(texts),
                "intents": len(labels),
                "steps": steps,
                "config": asdict(config),
            }
            return encoder_export(target, source=Path(work), finetuned=finetuned)
    finally:
        torch.set_num_threads(before)


def _length_batches(texts: list[str], size: int, shuffler: np.random.Generator) -> list[list[int]]:
    """Shuffled batches of texts of similar length (less padding), in shuffled order."""
    order = [int(i) for i in shuffler.permutation(len(texts))]
    pool = size * 50
    batches: list[list[int]] = []
    for start in range(0, len(order), pool):
        chunk = sorted(order[start : start + pool], key=lambda i: len(texts[i]))
        batches.extend(chunk[i : i + size] for i in range(0, len(chunk), size))
    return [batches[i] for i in shuffler.permutation(len(batches))]
