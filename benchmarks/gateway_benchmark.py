"""Gateway figures: the bundled local model's speed, and the gateway's own overhead.

Overhead is everything a call spends outside the provider: guardrails, caches, limits, the SDK and
HTTP on loopback, and the ledger writes. It is measured against the loopback fake provider, whose
own handling time per response is known and subtracted.
"""

from __future__ import annotations

import contextlib
import json
import random
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import openai

from core.models import Assistant, Workspace
from gateway.calls import CallScope, Delta, Done, complete, stream
from gateway.ledger import ledger_flush
from gateway.models import LlmModel, Provider, ProviderKind

Progress = Callable[[str, float], None]

LOCAL_PROMPTS = [
    "What is the capital of France? Answer in one sentence.",
    "Suggest a name for a pizza restaurant.",
    "How do I reset my password? Answer briefly.",
    "Give me one tip for a job interview.",
    "What should I pack for a weekend trip?",
]


def _percentiles(values: list[float]) -> dict[str, float]:
    return {
        "p50": round(float(np.percentile(values, 50)), 3),
        "p99": round(float(np.percentile(values, 99)), 3),
    }


def local_model_run(*, runs: int, max_tokens: int, progress: Progress) -> dict[str, Any]:
    """First-token latency and tokens/s of the local model, streamed through the gateway."""
    scope = CallScope(purpose="test")
    started = time.perf_counter()
    complete([{"role": "user", "content": "Hi"}], scope=scope, max_tokens=1, cache="off")
    load_s = time.perf_counter() - started
    first_token_ms: list[float] = []
    rates: list[float] = []
    for run in range(runs):
        prompt = LOCAL_PROMPTS[run % len(LOCAL_PROMPTS)] + f" (request {run})"
        started = time.perf_counter()
        first: float | None = None
        tokens = 0
        for event in stream(
            [{"role": "user", "content": prompt}], scope=scope, max_tokens=max_tokens, cache="off"
        ):
            if isinstance(event, Delta) and first is None:
                first = time.perf_counter() - started
            if isinstance(event, Done):
                tokens = event.completion.output_tokens
        total = time.perf_counter() - started
        if first is not None:
            first_token_ms.append(first * 1000)
            if tokens > 1 and total > first:
                rates.append((tokens - 1) / (total - first))
        progress("local model", (run + 1) / runs)
    return {
        "model": "local:smollm2-135m",
        "load_and_warm_up_s": round(load_s, 2),
        "runs": runs,
        "first_token_ms": _percentiles(first_token_ms),
        "tokens_per_s": round(float(np.median(rates)), 1) if rates else None,
    }


def overhead_run(*, calls: int, provider_delay_s: float, progress: Progress) -> dict[str, Any]:
    """Gateway time minus the provider's own time, per call, against the loopback provider.

    The provider runs in its own process, as a real one would, answering after
    ``provider_delay_s``. The same calls made with the bare openai SDK give the share of the
    overhead that is the SDK and HTTP alone.
    """
    workspace = Workspace.objects.create(name="Gateway benchmark")
    assistant = Assistant.objects.create(
        workspace=workspace, name="Benchmark", llm_requests_per_minute=None
    )
    scope = CallScope("test", workspace_id=workspace.pk, assistant_id=assistant.pk)
    try:
        with _provider_process(provider_delay_s) as base_url:
            provider = Provider.objects.create(
                key=f"bench-{uuid.uuid4().hex[:8]}",
                kind=ProviderKind.OPENAI,
                base_url=base_url,
                api_key_env="",
            )
            model = LlmModel.objects.create(
                key=f"{provider.key}:fake",
                provider=provider,
                name="fake",
                input_price=Decimal("0.15"),
                output_price=Decimal("0.60"),
            )
            sdk = openai.OpenAI(base_url=base_url, api_key="benchmark", max_retries=0)

            def bare(question: list[dict[str, str]]) -> None:
                sdk.chat.completions.create(
                    model="fake",
                    messages=question,  # type: ignore[arg-type]
                    temperature=0.3,
                    max_tokens=512,
                )

            def gateway(question: list[dict[str, str]]) -> None:
                complete(question, scope=scope, model=model, cache="off")

            sdk_overhead = _overhead(bare, base_url, calls, progress, "bare SDK")
            overhead, gateway_ms = _overhead(gateway, base_url, calls, progress, "gateway")
            for n in range(10):
                complete([{"role": "user", "content": f"Cached {n}"}], scope=scope, model=model)
            started = time.perf_counter()
            for n in range(calls):
                complete(
                    [{"role": "user", "content": f"Cached {n % 10}"}], scope=scope, model=model
                )
            cached_s = time.perf_counter() - started
            ledger_flush()
            provider.delete()
    finally:
        workspace.delete()
    return {
        "calls": calls,
        "provider_delay_ms": provider_delay_s * 1000,
        "gateway_ms": _percentiles(gateway_ms),
        "overhead_ms": _percentiles(overhead),
        "sdk_and_http_only_ms": _percentiles(sdk_overhead[0]),
        "calls_per_s": round(calls / (sum(gateway_ms) / 1000), 1),
        "cache_hits_per_s": round(calls / cached_s, 1),
    }


WARM_UP = 200


def _overhead(
    call: Callable[[list[dict[str, str]]], None],
    base_url: str,
    calls: int,
    progress: Progress,
    stage: str,
) -> tuple[list[float], list[float]]:
    """Per call: wall time minus the provider's own time; and the wall times."""
    before = len(_handling_ms(base_url))
    wall_ms: list[float] = []
    for n in range(WARM_UP + calls):
        question = [{"role": "user", "content": f"What are your opening hours? ({n})"}]
        started = time.perf_counter()
        call(question)
        wall_ms.append((time.perf_counter() - started) * 1000)
        if n >= WARM_UP:
            progress(stage, (n + 1 - WARM_UP) / calls)
    own_ms = _handling_ms(base_url)[before:]
    wall_ms, own_ms = wall_ms[WARM_UP:], own_ms[WARM_UP:]
    return [wall - own for wall, own in zip(wall_ms, own_ms, strict=True)], wall_ms


@contextlib.contextmanager
def _provider_process(delay_s: float) -> Iterator[str]:
    server = subprocess.Popen(  # noqa: S603 - our own module, fixed arguments
        [sys.executable, "-m", "benchmarks.fake_provider", "--delay", str(delay_s)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        yield server.stdout.readline().strip() if server.stdout else ""
    finally:
        server.kill()
        server.wait()


def _handling_ms(base_url: str) -> list[float]:
    with urllib.request.urlopen(f"{base_url}/fake/handling-ms") as response:  # noqa: S310
        return list(json.load(response)["handling_ms"])


def semantic_cache_precision(
    path: Path, *, sample: int = 2000, thresholds: tuple[float, ...] = (0.85, 0.9, 0.95, 0.97)
) -> dict[str, Any]:
    """How often two different questions would share a cached answer, per similarity threshold.

    Pairs of in-scope utterances from an intent data set: a pair at or above the threshold would be
    a cache hit; it is right (a proxy) when both utterances have the same intent.
    """
    from nlu.data import read_jsonl
    from nlu.store import encoder_load

    examples = [example for example in read_jsonl(path) if example.intent != "oos"]
    random.Random(0).shuffle(examples)  # noqa: S311 - a fixed sample, not a secret
    examples = examples[:sample]
    vectors = encoder_load().embed([example.text for example in examples])
    upper = np.triu_indices(len(examples), 1)
    similarity = (vectors @ vectors.T)[upper]
    labels = np.array([example.intent for example in examples])
    same_intent = labels[upper[0]] == labels[upper[1]]
    rows = []
    for threshold in thresholds:
        hits = similarity >= threshold
        rows.append(
            {
                "threshold": threshold,
                "hits": int(hits.sum()),
                "same_intent_precision": round(float(same_intent[hits].mean()), 4)
                if hits.any()
                else None,
            }
        )
    return {"data": str(path), "utterances": len(examples), "thresholds": rows}
