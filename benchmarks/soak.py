"""A long run of mixed traffic against a running server: end users chatting over websockets,
creators editing over the API (each edit retrains the NLU), explicit trainings, and
knowledge-base queries, all at once. Every request is timed per kind; every chat reply is
checked once and in order; the server's memory is sampled throughout.
"""

from __future__ import annotations

import asyncio
import os
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import httpx
import numpy as np
from django.db import transaction

from benchmarks.loadtest import SCRIPT, Tally, chat_session, memory_mb
from builder import services
from core.models import Assistant

QUESTIONS = [
    "how long does delivery take",
    "do you have gluten free pizza",
    "can I pay by card",
    "what is in the veggie pizza",
    "do you deliver to my street",
]
SAMPLE_EVERY_S = 5.0
EDITED = "Soak test"  # the assistant the run edits and retrains, beside the demo
EDITED_INTENTS = {
    "greet": ["hello", "hi there", "good morning", "hey", "hiya"],
    "goodbye": ["bye", "see you later", "goodbye", "that's all, thanks", "cheers, bye"],
    "order": ["I want a pizza", "can I order food", "one margherita please", "I'd like to order"],
}


@dataclass
class Kind:
    """One kind of traffic: how often it ran, how long it took, what went wrong."""

    latencies_ms: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    server_errors: int = 0  # 5xx answers

    def figures(self) -> dict[str, Any]:
        latencies = self.latencies_ms or [0.0]
        return {
            "count": len(self.latencies_ms),
            "errors": len(self.errors),
            "server_errors": self.server_errors,
            "error_examples": self.errors[:5],
            "latency_ms": {
                "p50": round(float(np.percentile(latencies, 50)), 1),
                "p99": round(float(np.percentile(latencies, 99)), 1),
            },
        }


@dataclass(frozen=True)
class Target:
    http: str  # http://host:port
    token: str  # an API token of a member of both assistants' workspace
    chat_assistant: int  # published, with a knowledge base: chats and queries
    edit_intent: int  # an intent of a second assistant, edited and retrained throughout
    edit_assistant: int


async def _timed(
    kind: Kind, call: Callable[[], Awaitable[httpx.Response]], expect: tuple[int, ...]
) -> httpx.Response | None:
    started = time.perf_counter()
    try:
        response = await call()
    except httpx.HTTPError as error:
        kind.errors.append(f"{type(error).__name__}: {error}")
        return None
    kind.latencies_ms.append((time.perf_counter() - started) * 1000)
    if response.status_code >= 500:
        kind.server_errors += 1
    if response.status_code not in expect:
        kind.errors.append(f"{response.status_code}: {response.text[:200]}")
    return response


async def _chats(target: Target, sessions: int, until: float, tally: Tally) -> None:
    url = target.http.replace("http", "ws", 1) + f"/ws/chat/{target.chat_assistant}/"

    async def one() -> None:
        while time.monotonic() < until:
            await chat_session(url, len(SCRIPT) * 2, (1.0, 3.0), tally, target.http, 30.0)

    await asyncio.gather(*(one() for _ in range(sessions)))


async def _edits(client: httpx.AsyncClient, target: Target, until: float, kind: Kind) -> None:
    """Add an utterance, then delete it: each change queues a training of the edited assistant."""
    number = 0
    while time.monotonic() < until:
        number += 1
        added = await _timed(
            kind,
            partial(
                client.post,
                f"/api/intents/{target.edit_intent}/utterances/",
                json={"utterances": [f"soak phrase number {number} please"]},
            ),
            (201,),
        )
        if added is not None and added.status_code == 201 and added.json():
            utterance = added.json()[0]["id"]
            await asyncio.sleep(random.uniform(1, 3))  # noqa: S311 - pacing, not a secret
            await _timed(kind, partial(client.delete, f"/api/utterances/{utterance}/"), (204,))
        await _timed(
            kind,
            partial(
                client.patch,
                f"/api/assistants/{target.edit_assistant}/",
                json={"description": f"Edited {number} times by the soak run."},
            ),
            (200,),
        )
        await asyncio.sleep(random.uniform(2, 4))  # noqa: S311


async def _trainings(client: httpx.AsyncClient, target: Target, until: float, kind: Kind) -> None:
    """Ask for a training and wait for it to finish (done or failed, never stuck)."""
    while time.monotonic() < until:
        started = time.perf_counter()
        url = f"/api/assistants/{target.edit_assistant}/training/"
        try:
            queued = await client.post(url)
        except httpx.HTTPError as error:
            kind.errors.append(f"{type(error).__name__}: {error}")
            await asyncio.sleep(5)
            continue
        if queued.status_code >= 500:
            kind.server_errors += 1
        if queued.status_code != 202:
            kind.errors.append(f"{queued.status_code}: {queued.text[:200]}")
            await asyncio.sleep(5)
            continue
        run = queued.json()["id"]
        status = "queued"
        deadline = time.monotonic() + 300
        while status in ("queued", "running") and time.monotonic() < deadline:
            await asyncio.sleep(1)
            runs = await client.get(url)
            if runs.status_code >= 500:
                kind.server_errors += 1
            status = next((r["status"] for r in runs.json() if r["id"] == run), "superseded")
        if status in ("queued", "running"):
            kind.errors.append(f"training {run} still {status} after 5 minutes")
        elif status == "failed":
            kind.errors.append(f"training {run} failed")
        kind.latencies_ms.append((time.perf_counter() - started) * 1000)
        await asyncio.sleep(random.uniform(10, 20))  # noqa: S311


async def _queries(client: httpx.AsyncClient, target: Target, until: float, kind: Kind) -> None:
    url = f"/api/assistants/{target.chat_assistant}/knowledge/query/"
    while time.monotonic() < until:
        body = {"question": random.choice(QUESTIONS), "mode": "retrieve"}  # noqa: S311
        await _timed(kind, partial(client.post, url, json=body), (200,))
        await asyncio.sleep(random.uniform(0.2, 0.8))  # noqa: S311


async def _memory(
    pids: Callable[[], dict[str, list[int]]], until: float, samples: list[Any]
) -> None:
    started = time.monotonic()
    while True:
        now = time.monotonic()
        row = {name: sum(memory_mb(pid) for pid in group) for name, group in pids().items()}
        samples.append((now - started, row))
        if now >= until:
            return
        await asyncio.sleep(min(SAMPLE_EVERY_S, max(0.0, until - now)))


def _memory_report(samples: list[Any], warm_up_s: float) -> dict[str, Any]:
    """Per process group: memory at the start, after warm-up, at the end, and the growth since
    warm-up."""
    report = {}
    for name in samples[0][1]:
        series = [(at, row[name]) for at, row in samples]
        warm = next((mb for at, mb in series if at >= warm_up_s), series[-1][1])
        end = series[-1][1]
        report[name] = {
            "start_mb": series[0][1],
            "after_warm_up_mb": warm,
            "end_mb": end,
            "peak_mb": max(mb for _, mb in series),
            "growth_after_warm_up_pct": round((end - warm) / warm * 100, 1) if warm else None,
        }
    return report


async def soak_run(
    target: Target,
    *,
    minutes: float,
    sessions: int,
    server_pids: Callable[[], list[int]],
    warm_up_s: float | None = None,
) -> dict[str, Any]:
    duration = minutes * 60
    warm_up = warm_up_s if warm_up_s is not None else min(300.0, duration / 5)
    until = time.monotonic() + duration
    kinds = {name: Kind() for name in ("api_edit", "training", "kb_query")}
    tally = Tally()
    samples: list[Any] = []
    headers = {"Authorization": f"Token {target.token}"}
    started = time.perf_counter()
    async with httpx.AsyncClient(base_url=target.http, headers=headers, timeout=60) as client:
        await asyncio.gather(
            _chats(target, sessions, until, tally),
            _edits(client, target, until, kinds["api_edit"]),
            _trainings(client, target, until, kinds["training"]),
            _queries(client, target, until, kinds["kb_query"]),
            _memory(
                lambda: {"server": server_pids(), "load_generator": [os.getpid()]},
                until,
                samples,
            ),
        )
    chat = Kind(latencies_ms=tally.latencies_ms, errors=tally.errors)
    per_kind = {"chat_turn": chat.figures(), **{n: k.figures() for n, k in kinds.items()}}
    return {
        "minutes": minutes,
        "seconds": round(time.perf_counter() - started, 1),
        "sessions": sessions,
        "lost_messages": tally.lost,
        "duplicate_messages": tally.duplicates,
        "wrong_replies": tally.wrong,
        "errors": sum(figures["errors"] for figures in per_kind.values()),
        "server_errors": sum(figures["server_errors"] for figures in per_kind.values()),
        "kinds": per_kind,
        "warm_up_s": warm_up,
        "memory": _memory_report(samples, warm_up),
    }


def edited_assistant(demo: Assistant) -> Assistant:
    """The assistant a soak run edits and retrains, in the demo's workspace."""
    edited = demo.workspace.assistants.filter(name=EDITED).first()
    if edited is None:
        with transaction.atomic():
            edited = services.assistant_create(workspace=demo.workspace, name=EDITED)
            for name, texts in EDITED_INTENTS.items():
                services.intent_create(assistant=edited, name=name, utterances=texts)
    # Leftovers of an interrupted run would grow the data run after run.
    edited.intents.get(name="order").utterances.filter(text__startswith="soak phrase").delete()
    return edited
