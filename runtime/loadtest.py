"""Many end users chatting at once over websockets, each turn checked and timed.

Each session says hello, then sends ``turns`` messages that the NLU answers (no LLM), pausing like
a person between them. For every message the client expects exactly one new reply, numbered right
after the user's own message; anything missing, repeated or out of order is counted. Latency runs
from sending a message to receiving its complete reply.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import websockets

# (what the user says, the start of the reply the demo assistant gives)
SCRIPT = [
    ("when are you open", "We are open every day"),
    ("where is my order", "Your order left the kitchen"),
    ("what time do you close", "We are open every day"),
    ("track my pizza", "Your order left the kitchen"),
]


@dataclass
class Tally:
    turns: int = 0
    lost: int = 0
    duplicates: int = 0
    wrong: int = 0
    errors: list[str] = field(default_factory=list)
    latencies_ms: list[float] = field(default_factory=list)


async def _session(
    url: str, turns: int, pause_s: tuple[float, float], tally: Tally, origin: str, timeout_s: float
) -> None:
    user = f"load-{uuid.uuid4().hex[:12]}"
    seen: set[int] = set()
    last_seq = 0
    try:
        async with websockets.connect(url, origin=origin, open_timeout=timeout_s) as socket:  # type: ignore[arg-type]
            await socket.send(json.dumps({"type": "hello", "user": user}))
            welcome = json.loads(await asyncio.wait_for(socket.recv(), timeout_s))
            if welcome.get("type") != "welcome":
                tally.errors.append(f"no welcome: {welcome}")
                return
            greeting = await _next_numbered(socket, timeout_s)
            last_seq = greeting["seq"]
            seen.add(last_seq)
            for turn in range(turns):
                await asyncio.sleep(random.uniform(*pause_s))  # noqa: S311 - think time, not a secret
                text, expected = SCRIPT[turn % len(SCRIPT)]
                started = time.perf_counter()
                await socket.send(json.dumps({"type": "text", "text": text}))
                reply = await _next_numbered(socket, timeout_s)
                tally.latencies_ms.append((time.perf_counter() - started) * 1000)
                tally.turns += 1
                seq = reply["seq"]
                if seq in seen:
                    tally.duplicates += 1
                elif seq != last_seq + 2:  # +1 is the user's own message, stored not echoed
                    tally.lost += max(0, seq - last_seq - 2)
                seen.add(seq)
                last_seq = seq
                if not str(reply.get("text", "")).startswith(expected):
                    tally.wrong += 1
            extra = await _drain(socket)
            tally.duplicates += sum(1 for frame in extra if frame.get("seq") in seen)
    except (OSError, TimeoutError, websockets.WebSocketException, json.JSONDecodeError) as error:
        tally.errors.append(f"{type(error).__name__}: {error}")


async def _next_numbered(socket: Any, timeout_s: float) -> dict[str, Any]:
    """The next stored frame (typing indicators and the like have no number)."""
    while True:
        frame = json.loads(await asyncio.wait_for(socket.recv(), timeout_s))
        if frame.get("type") == "error":
            raise websockets.WebSocketException(f"error frame: {frame}")
        if "seq" in frame:
            return frame


async def _drain(socket: Any) -> list[dict[str, Any]]:
    frames = []
    try:
        while True:
            frames.append(json.loads(await asyncio.wait_for(socket.recv(), 0.2)))
    except TimeoutError:
        return frames


async def loadtest_run(
    *,
    url: str,
    sessions: int,
    turns: int,
    pause_s: tuple[float, float] = (1.0, 3.0),
    ramp_s: float = 5.0,
    origin: str = "http://127.0.0.1",
    timeout_s: float = 30.0,
) -> dict[str, Any]:
    tally = Tally()

    async def staggered(index: int) -> None:
        await asyncio.sleep(ramp_s * index / max(1, sessions))
        await _session(url, turns, pause_s, tally, origin, timeout_s)

    started = time.perf_counter()
    await asyncio.gather(*(staggered(i) for i in range(sessions)))
    elapsed = time.perf_counter() - started
    latencies = tally.latencies_ms or [0.0]
    return {
        "sessions": sessions,
        "turns": tally.turns,
        "expected_turns": sessions * turns,
        "lost_messages": tally.lost + (sessions * turns - tally.turns),
        "duplicate_messages": tally.duplicates,
        "wrong_replies": tally.wrong,
        "errors": len(tally.errors),
        "error_examples": tally.errors[:5],
        "turn_latency_ms": {
            "p50": round(float(np.percentile(latencies, 50)), 2),
            "p99": round(float(np.percentile(latencies, 99)), 2),
        },
        "turns_per_s": round(tally.turns / elapsed, 1),
        "seconds": round(elapsed, 1),
    }
