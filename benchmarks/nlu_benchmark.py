"""Train from scratch on a labelled set, evaluate on another, and measure the serving path.

Used by ``manage.py nlu_benchmark``; reviewers run it on data sets of their own, so the report's
keys are a fixed interface (see the issue and BENCHMARKS.md).
"""

from __future__ import annotations

import os
import resource
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits

from nlu.data import OUT_OF_SCOPE, Example, read_jsonl
from nlu.model import NluModel, TrainingConfig
from nlu.progress import Progress
from nlu.store import encoder_load


@dataclass(frozen=True)
class BenchmarkInput:
    train: Path
    test: Path
    valid: Path | None = None
    mode: str = "fast"
    variant: str | None = None


def percentile_ms(seconds: list[float], q: float) -> float:
    return round(float(np.percentile(np.asarray(seconds) * 1000, q)), 3)


def entity_f1(found: set[Any], annotated: set[Any]) -> float:
    """Micro F1 over exact (utterance, start, end, type) spans."""
    hits = len(found & annotated)
    if not hits:
        return 0.0
    precision, recall = hits / len(found), hits / len(annotated)
    return round(2 * precision * recall / (precision + recall), 4)


def benchmark_run(spec: BenchmarkInput, *, progress: Progress) -> dict[str, Any]:
    train, test = read_jsonl(spec.train), read_jsonl(spec.test)
    valid = read_jsonl(spec.valid) if spec.valid else None
    encoder = encoder_load(spec.variant, threads=1)
    has_oos = any(not example.in_scope for example in (*train, *test, *(valid or [])))

    started = time.perf_counter()
    model = NluModel.train(
        train,
        encoder=encoder,
        config=TrainingConfig(mode=spec.mode),
        validation=valid,
        progress=progress,
    )
    train_seconds = time.perf_counter() - started

    # Accuracy and latency both come from the serving path: one utterance at a time, on one
    # thread. The encoder's session has one; numpy's BLAS would use every core for the larger
    # products (the nearness to an assistant's prototypes), so it is held to one as well.
    predicted, timings = [], []
    found: set[tuple[int, int, int, str]] = set()
    with threadpool_limits(limits=1):
        for example in test[:20]:  # warm-up
            model.parse(example.text)
        for row, example in enumerate(test):
            tick = time.perf_counter()
            parse = model.parse(example.text)
            timings.append(time.perf_counter() - tick)
            predicted.append(parse.intent or OUT_OF_SCOPE)
            found.update((row, e.start, e.end, e.entity) for e in parse.entities)
    annotated = {
        (row, span.start, span.end, span.entity)
        for row, example in enumerate(test)
        for span in example.entities
    }
    gold = [example.intent for example in test]
    correct = np.asarray(predicted) == np.asarray(gold)
    in_scope = np.asarray([example.in_scope for example in test])

    # Throughput: the whole test set as batches on every core (none of it is in the cache).
    texts = [example.text for example in test]
    tick = time.perf_counter()
    model.parse_batch(texts)
    throughput = len(texts) / (time.perf_counter() - tick)

    retrain_seconds = _retrain_one_intent(model, train, valid, progress)

    return {
        "intent_accuracy": round(float(correct.mean()), 4),
        "in_scope_accuracy": round(float(correct[in_scope].mean()), 4) if has_oos else None,
        "oos_recall": round(float(correct[~in_scope].mean()), 4)
        if has_oos and (~in_scope).any()
        else None,
        "entity_f1": entity_f1(found, annotated) if annotated else None,
        "train_seconds": round(train_seconds, 2),
        "retrain_one_intent_seconds": retrain_seconds,
        "latency_ms": {"p50": percentile_ms(timings, 50), "p99": percentile_ms(timings, 99)},
        "throughput_per_s": round(throughput, 1),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "threshold": round(model.threshold, 4),
        "threshold_source": model.manifest["threshold_source"],
        "mode": spec.mode,
        "encoder": model.encoder.identity,
        "train_utterances": len(train),
        "test_utterances": len(test),
        "intents": len(model.manifest["labels"]),
        "latency_threads": 1,
        "throughput_threads": os.cpu_count(),
    }


def _retrain_one_intent(
    model: NluModel, train: list[Example], valid: list[Example] | None, progress: Progress
) -> float:
    """Seconds to retrain after a creator edits the utterances of one intent.

    The retrain a save triggers, in the model's mode: in accurate mode it keeps the fine-tuned
    encoder unless the edit changed more than ``TrainingConfig.retune_share`` of the utterances,
    and then it fine-tunes again.
    """
    edited = model.manifest["labels"][0]
    changed = [
        Example(
            text=f"{e.text} please" if i % 2 else e.text.lower(),
            intent=e.intent,
            entities=e.entities,
        )
        if e.intent == edited
        else e
        for i, e in enumerate(train)
    ]
    tick = time.perf_counter()
    NluModel.train(
        changed,
        encoder=model.encoder,
        config=TrainingConfig(mode=model.mode),
        validation=valid,
        previous=model,
        progress=progress,
    )
    return round(time.perf_counter() - tick, 2)
