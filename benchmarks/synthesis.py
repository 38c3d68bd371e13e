"""What synthetic training data is worth: an NLU model trained on N utterances per intent written
by an LLM from the intent names alone, against one trained on N real utterances per intent, both
tested on the same real utterances.

The synthetic utterances come from the product's own cold-start path (``utterance_messages`` and
``utterances_generate``, through the gateway); the real ones from ``--train`` or, without it,
held out of the test file per intent.
"""

from __future__ import annotations

import random
import time
from collections import defaultdict
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.utils import timezone

from builder.services.suggestions import utterance_messages, utterances_generate
from gateway.errors import GatewayError
from gateway.ledger import CallScope
from gateway.models import Attempt, Purpose
from nlu.data import OUT_OF_SCOPE, Example, normalised, read_jsonl
from nlu.evaluation import outcomes_of, report
from nlu.model import NluModel
from nlu.progress import Progress
from nlu.store import encoder_load

ATTEMPTS = 3  # asks per intent until it has N distinct utterances


def _by_intent(examples: list[Example]) -> dict[str, list[Example]]:
    grouped: dict[str, list[Example]] = defaultdict(list)
    for example in examples:
        if example.intent != OUT_OF_SCOPE:
            grouped[example.intent].append(example)
    return dict(sorted(grouped.items()))


def _synthesise(
    name: str, others: list[str], count: int, model: str | None, scope: CallScope
) -> tuple[list[str], int]:
    """Up to ``count`` distinct utterances for intent ``name``, and how many asks failed."""
    texts: dict[str, str] = {}
    failures = 0
    for _ in range(ATTEMPTS):
        messages = utterance_messages(
            name=name,
            description="",
            examples=list(texts.values()),
            others=[(other, "") for other in others],
            language="English",
            count=count - len(texts),
        )
        try:
            asked = count - len(texts)
            for text in utterances_generate(messages, count=asked, scope=scope, model=model):
                texts.setdefault(normalised(text), text)
        except GatewayError:
            failures += 1
        if len(texts) >= count:
            break
    return list(texts.values())[:count], failures


def synth_benchmark(
    test_path: Path,
    *,
    per_intent: int,
    train_path: Path | None = None,
    model: str | None = None,
    max_intents: int | None = None,
    seed: int = 0,
    progress: Progress | None = None,
) -> dict[str, Any]:
    shuffle = random.Random(seed)  # noqa: S311 -- a reproducible sample, not a secret
    test = _by_intent(read_jsonl(test_path))
    names = sorted(test)
    if max_intents is not None and max_intents < len(names):
        names = sorted(shuffle.sample(names, max_intents))
    if len(names) < 2:
        raise ValueError("the test file needs at least two intents")
    if train_path is not None:
        pool = _by_intent(read_jsonl(train_path))
        real = [e for name in names for e in shuffle.sample(pool[name], per_intent)]
        evaluation = [e for name in names for e in test[name]]
    else:
        real, evaluation = [], []
        for name in names:
            items = list(test[name])
            shuffle.shuffle(items)
            if len(items) <= per_intent:
                raise ValueError(f"{name} has {len(items)} test utterances, not more than N")
            real += items[:per_intent]
            evaluation += items[per_intent:]

    started = time.perf_counter()
    scope = CallScope(purpose=Purpose.SYNTHESIS)
    since = timezone.now()
    synthetic: list[Example] = []
    short, failures = [], 0
    for index, name in enumerate(names):
        if progress is not None:
            progress(f"synthesising {name}", index / len(names))
        texts, failed = _synthesise(name, [n for n in names if n != name], per_intent, model, scope)
        failures += failed
        if len(texts) < per_intent:
            short.append({"intent": name, "utterances": len(texts)})
        synthetic += [Example(text, name) for text in texts]
    synthesis_seconds = time.perf_counter() - started
    attempts = Attempt.objects.filter(purpose=Purpose.SYNTHESIS, created_at__gte=since)
    usage = list(attempts.values_list("input_tokens", "output_tokens", "cost", "model"))

    encoder = encoder_load()
    results = {}
    for label, examples in (("synthetic", synthetic), ("real", real)):
        if progress is not None:
            progress(f"training on {label}", 0.95)
        figures = report(outcomes_of(NluModel.train(examples, encoder=encoder), evaluation))
        results[label] = {
            "training_utterances": len(examples),
            "accuracy": figures["accuracy"],
            "macro_f1": figures["macro_f1"],
        }
    return {
        "test": str(test_path),
        "real_from": str(train_path) if train_path else "held out of the test file",
        "per_intent": per_intent,
        "intents": len(names),
        "test_utterances": len(evaluation),
        "llm": sorted({row[3] for row in usage}),
        "llm_attempts": len(usage),
        "failed_calls": failures,
        "input_tokens": sum(row[0] for row in usage),
        "output_tokens": sum(row[1] for row in usage),
        "cost": format(sum((row[2] for row in usage if row[2] is not None), Decimal(0)), "f"),
        "synthesis_seconds": round(synthesis_seconds, 1),
        "intents_short_of_n": short,
        "synthetic": results["synthetic"],
        "real": results["real"],
        "accuracy_gap": round(results["real"]["accuracy"] - results["synthetic"]["accuracy"], 4),
        "samples": {
            name: [e.text for e in synthetic if e.intent == name][:5] for name in names[:5]
        },
    }
