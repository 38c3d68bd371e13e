"""The in-house NLU, an LLM classifier and the hybrid of both, on the same labelled utterances:
accuracy, macro-F1, out-of-scope recall, latency, tokens and cost, side by side.

- **nlu**: the assistant's draft model, one utterance at a time; its cost is the CPU time it used,
  priced per CPU-hour (``NLU_CPU_HOUR_PRICE``). The bundled local LLM is priced the same way.
- **llm**: the LLM through the gateway, given every intent's name and description and the
  ``few_shot`` training utterances most similar to the one asked (by the encoder); its cost comes
  from the model catalogue's prices and the tokens the provider reported.
- **hybrid**: the NLU, and the LLM among the NLU's three best intents only when the NLU's top
  confidence is in the assistant's uncertain band.

At most ``max_items`` utterances are used (a deterministic sample across the set), so a paid model
is never asked more than that; ``estimate`` says what a run would cost before it starts.

Each utterance's answers are a record (``save`` keeps it as soon as it is finished); given the
records of an earlier, interrupted run as ``done``, a comparison asks only what is left, so
resuming it neither loses finished items nor bills them twice.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import numpy as np
from django.conf import settings

from core.jobs import JobStopped
from core.models import Assistant, Utterance
from core.nlu_data import nlu_examples
from gateway.calls import Completion
from gateway.catalogue import default_model
from gateway.classify import classify_messages, llm_classify
from gateway.errors import GatewayError
from gateway.ledger import CallScope
from gateway.models import LlmModel, ProviderKind, Purpose
from gateway.prompts import tokens_estimate
from nlu.data import OUT_OF_SCOPE, Example
from nlu.evaluation import Outcome, outcome_of, report
from nlu.model import NluModel, Parse
from nlu.progress import Progress
from nlu.registry import NotPublished
from nlu.store import registry
from runtime.hybrid import Hybrid, hybrid_decide

CLASSIFIERS = ("nlu", "llm", "hybrid")


Record = dict[str, Any]  # one classifier's answer to one utterance, as JSON


class ComparisonStopped(JobStopped):
    """The run was stopped (or resumed elsewhere) between two utterances."""


@dataclass
class _Tally:
    outcomes: list[Outcome] = field(default_factory=list)
    latencies_ms: list[float] = field(default_factory=list)
    input_tokens: int = 0
    output_tokens: int = 0
    cost: Decimal = Decimal(0)
    unpriced: bool = False
    llm_calls: int = 0
    errors: int = 0
    cpu_seconds: float = 0.0

    def add(self, example: Example, record: Record) -> None:
        self.outcomes.append(
            Outcome(
                text=example.text,
                expected=example.intent,
                predicted=record["predicted"],
                confidence=record["confidence"],
                alternatives=tuple((name, score) for name, score in record["alternatives"]),
                expected_entities=frozenset(),
                found_entities=frozenset(),
            )
        )
        self.latencies_ms.append(record["latency_ms"])
        self.cpu_seconds += record["cpu_seconds"]
        self.errors += record["error"]
        if (usage := record["llm"]) is not None:
            self.llm_calls += 1
            self.input_tokens += usage["input_tokens"]
            self.output_tokens += usage["output_tokens"]
            if usage["cost"] is None:
                self.unpriced = True
            else:
                self.cost += Decimal(usage["cost"])


def _record(
    predicted: str,
    *,
    latency_ms: float,
    cpu_seconds: float,
    confidence: float = 1.0,
    alternatives: tuple[tuple[str, float], ...] = (),
    completion: Completion | None = None,
    error: bool = False,
) -> Record:
    return {
        "predicted": predicted,
        "confidence": confidence,
        "alternatives": [list(pair) for pair in alternatives],
        "latency_ms": latency_ms,
        "cpu_seconds": cpu_seconds,
        "llm": None
        if completion is None
        else {
            "input_tokens": completion.input_tokens,
            "output_tokens": completion.output_tokens,
            "cost": None if completion.cost is None else str(completion.cost),
        },
        "error": error,
    }


def sample(examples: list[Example], max_items: int | None, seed: int = 0) -> list[Example]:
    """At most ``max_items`` utterances, drawn evenly from the whole set (the same each time)."""
    chosen = list(examples)
    random.Random(seed).shuffle(chosen)  # noqa: S311 -- a reproducible sample, not a secret
    return chosen if max_items is None else chosen[:max_items]


def _model(assistant: Assistant, key: str | None) -> LlmModel:
    if key:
        found = LlmModel.objects.filter(key=key).first()
        if found is None:
            raise ValueError(f"No model {key!r} in the catalogue.")
        return found
    return assistant.llm_model or default_model()


def estimate(
    assistant: Assistant, calls: int, *, llm: str | None, few_shot: int = 3
) -> dict[str, Any]:
    """What ``calls`` questions to the LLM would cost, from the length of the prompt it gets
    (the assistant's intents, and ``few_shot`` of its utterances as examples)."""
    model = _model(assistant, llm)
    intents = list(assistant.intents.order_by("name").values_list("name", "description"))
    shots = list(
        Utterance.objects.filter(intent__assistant=assistant).values_list("text", "intent__name")[
            :few_shot
        ]
    )
    messages = classify_messages("an utterance of average length", intents, shots)
    per_item = sum(tokens_estimate(message["content"]) for message in messages)
    cost = model.cost(per_item * calls, 10 * calls)
    return {
        "model": model.key,
        "items": calls,
        "input_tokens": per_item * calls,
        "output_tokens": 10 * calls,
        "cost": None if cost is None else str(cost.quantize(Decimal("0.0001"))),
    }


def compare(
    assistant: Assistant,
    examples: list[Example],
    *,
    llm: str | None = None,
    few_shot: int = 3,
    max_items: int | None = 200,
    nlu: NluModel | None = None,
    training: list[Example] | None = None,
    progress: Progress | None = None,
    done: Mapping[int, dict[str, Record]] | None = None,
    save: Callable[[int, dict[str, Record]], None] | None = None,
    stop: Callable[[], bool] | None = None,
) -> dict[str, Any]:
    """Run the three classifiers on the same utterances and report their figures.

    ``nlu`` defaults to the draft model and ``training`` (where few-shot examples come from) to
    the assistant's utterances. ``done`` holds the records of utterances an earlier attempt
    finished (by index in the sample), which are not asked again; ``save`` gets each new
    record as soon as it is finished; ``stop``, asked before each utterance, raises
    ``ComparisonStopped`` when it says so.
    """
    progress = progress or (lambda stage, fraction: None)
    if nlu is None:
        try:
            nlu = registry().published_model(assistant.pk, "draft")
        except NotPublished:
            raise ValueError("The assistant has no trained model yet.") from None
    model = _model(assistant, llm)
    items = sample(examples, max_items)
    if not items:
        raise ValueError("There are no utterances to compare on.")
    intents = list(assistant.intents.order_by("name").values_list("name", "description"))
    descriptions = dict(intents)
    pool = nlu_examples(assistant) if training is None else training
    shots = _few_shot(nlu, pool, items, few_shot)
    scope = CallScope(
        Purpose.CLASSIFY, workspace_id=assistant.workspace_id, assistant_id=assistant.pk
    )
    low, high = assistant.hybrid_low, assistant.hybrid_high
    hybrid = Hybrid(low, high, descriptions)

    def classify(example: Example, shot: tuple[tuple[str, str], ...]) -> dict[str, Record]:
        # The in-house NLU, timed on the serving path (one utterance, tokenisation included).
        started, cpu = time.perf_counter(), time.process_time()
        parsed = nlu.parse(example.text, threshold=assistant.nlu_threshold)
        nlu_ms = (time.perf_counter() - started) * 1000
        nlu_cpu = time.process_time() - cpu
        outcome = outcome_of(example, parsed)
        records = {
            "nlu": _record(
                outcome.predicted,
                confidence=outcome.confidence,
                alternatives=outcome.alternatives,
                latency_ms=nlu_ms,
                cpu_seconds=nlu_cpu,
            ),
            # The LLM on its own: every intent, and the most similar training utterances.
            "llm": _ask(example, intents, shot, model, scope, base_ms=0.0, base_cpu=0.0),
        }
        # The hybrid (which always runs the NLU first): the LLM among the NLU's best only
        # when the NLU is unsure.
        offered = hybrid.offered([(match.name, match.confidence) for match in parsed.ranking])
        if offered:
            records["hybrid"] = _ask(
                example, offered, (), model, scope, base_ms=nlu_ms, base_cpu=nlu_cpu, nlu=parsed
            )
        else:
            records["hybrid"] = records["nlu"]
        return records

    done = done or {}
    tallies = {name: _Tally() for name in CLASSIFIERS}
    for index, example in enumerate(items):
        progress(f"utterance {index + 1} of {len(items)}", index / len(items))
        records = done.get(index)
        if records is None:
            if stop is not None and stop():
                raise ComparisonStopped(f"stopped after {index} of {len(items)} utterances")
            records = classify(example, shots[index])
            if save is not None:
                save(index, records)
        for name in CLASSIFIERS:
            tallies[name].add(example, records[name])
    progress("done", 1.0)
    figures = {name: _figures(tally, len(items)) for name, tally in tallies.items()}
    nlu_cost = Decimal(figures["nlu"]["cost_per_1000_turns"] or 0)
    return {
        "items": len(items),
        "nlu_mode": nlu.mode,
        "llm_model": model.key,
        "few_shot": few_shot,
        "hybrid_band": [low, high],
        "cpu_hour_price": str(settings.NLU_CPU_HOUR_PRICE),
        "classifiers": figures,
        "versus_nlu": {
            name: {
                "accuracy_difference": _difference(figures[name], figures["nlu"], "accuracy"),
                "macro_f1_difference": _difference(figures[name], figures["nlu"], "macro_f1"),
                "cost_ratio": None
                if figures[name]["cost_per_1000_turns"] is None or not nlu_cost
                else round(float(Decimal(figures[name]["cost_per_1000_turns"]) / nlu_cost), 1),
            }
            for name in ("llm", "hybrid")
        },
    }


def _ask(
    example: Example,
    intents: list[tuple[str, str]],
    examples: tuple[tuple[str, str], ...],
    model: LlmModel,
    scope: CallScope,
    *,
    base_ms: float,
    base_cpu: float,
    nlu: Parse | None = None,
) -> Record:
    """The LLM's choice among ``intents``; for the hybrid (``nlu`` given) the NLU's answer
    stands when the LLM fails or picks nothing offered."""
    started, cpu = time.perf_counter(), time.process_time()
    completion = None
    try:
        choice = llm_classify(
            example.text, intents, scope=scope, examples=examples, model=model, cache="off"
        )
    except GatewayError as failure:
        predicted = None if nlu is None else hybrid_decide(nlu.intent, None, failure.kind).intent
    else:
        completion = choice.completion
        predicted = choice.intent if nlu is None else hybrid_decide(nlu.intent, choice).intent
    local = model.provider.kind == ProviderKind.LOCAL  # the bundled model costs this machine's CPU
    return _record(
        predicted or OUT_OF_SCOPE,
        latency_ms=base_ms + (time.perf_counter() - started) * 1000,
        cpu_seconds=base_cpu + (time.process_time() - cpu if local else 0.0),
        completion=completion,
        error=completion is None,
    )


def _few_shot(
    nlu: NluModel, training: list[Example], items: list[Example], k: int
) -> list[tuple[tuple[str, str], ...]]:
    """For each item, the ``k`` training utterances closest to it (never the item itself)."""
    if k <= 0 or not training:
        return [() for _ in items]
    encoder = nlu.encoder
    pool = encoder.embed([example.text for example in training])
    asked = encoder.embed([example.text for example in items])
    chosen = []
    for row, item in zip(asked @ pool.T, items, strict=True):
        order = np.argsort(-row)
        picks = [training[i] for i in order if training[i].text != item.text][:k]
        chosen.append(tuple((pick.text, pick.intent) for pick in picks))
    return chosen


def _figures(tally: _Tally, items: int) -> dict[str, Any]:
    evaluated = report(tally.outcomes)
    latencies = tally.latencies_ms or [0.0]
    # Money to providers (the catalogue's prices) plus this machine's CPU time at its price.
    compute = Decimal(str(tally.cpu_seconds)) / 3600 * settings.NLU_CPU_HOUR_PRICE
    cost = None if tally.unpriced else tally.cost + compute
    oos = evaluated["out_of_scope"]
    return {
        "accuracy": evaluated["accuracy"],
        "macro_f1": evaluated["macro_f1"],
        "out_of_scope_recall": None if oos is None or not oos["support"] else oos["recall"],
        "latency_ms": {
            "p50": round(float(np.percentile(latencies, 50)), 3),
            "p99": round(float(np.percentile(latencies, 99)), 3),
        },
        "llm_calls": tally.llm_calls,
        "llm_errors": tally.errors,
        "input_tokens": tally.input_tokens,
        "output_tokens": tally.output_tokens,
        "cpu_seconds": round(tally.cpu_seconds, 4) if tally.cpu_seconds else None,
        "cost": _money(cost),
        "cost_per_1000_turns": None if cost is None else _money(cost / items * 1000),
        "per_intent": evaluated["per_intent"],
    }


def _money(amount: Decimal | None) -> str | None:
    return None if amount is None else format(amount.quantize(Decimal("0.000000001")), "f")


def _difference(figures: dict[str, Any], nlu: dict[str, Any], key: str) -> float | None:
    if figures[key] is None or nlu[key] is None:
        return None
    return round(figures[key] - nlu[key], 4)
