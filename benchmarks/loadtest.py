"""Many end users chatting at once over websockets, each turn checked and timed.

Each session says hello, then sends ``turns`` messages that the NLU answers (no LLM), pausing like
a person between them. For every message the client expects exactly one new reply, numbered right
after the user's own message; anything missing, repeated or out of order is counted. Latency runs
from sending a message to receiving its complete reply.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

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


async def chat_session(
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


def page_origin(url: str) -> str:
    """The origin of the server's own pages for a websocket ``url``: ``ws://h:p/...`` gives
    ``http://h:p``, ``wss://`` gives ``https://``."""
    parts = urlsplit(url)
    scheme = "https" if parts.scheme in ("wss", "https") else "http"
    return f"{scheme}://{parts.netloc}"


async def loadtest_run(
    *,
    url: str,
    sessions: int,
    turns: int,
    pause_s: tuple[float, float] = (1.0, 3.0),
    ramp_s: float = 5.0,
    origin: str | None = None,
    timeout_s: float = 30.0,
) -> dict[str, Any]:
    """Chat ``sessions`` at once with the web chat at ``url``, as pages of ``origin`` (default:
    the server's own pages, same scheme, host and port as ``url``)."""
    tally = Tally()
    origin = origin or page_origin(url)

    async def staggered(index: int) -> None:
        await asyncio.sleep(ramp_s * index / max(1, sessions))
        await chat_session(url, turns, pause_s, tally, origin, timeout_s)

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


ROOT = Path(__file__).resolve().parents[1]


def server_start(workers: int) -> tuple[subprocess.Popen[bytes], str]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [
        sys.executable, "-m", "uvicorn", "config.asgi:application", "--host", "127.0.0.1",
        "--port", str(port), "--ws", "websockets-sansio", "--ws-per-message-deflate", "false",
        "--log-level", "warning",
        "--workers", str(workers),
    ]  # fmt: skip
    server = subprocess.Popen(command, cwd=ROOT, env=os.environ.copy())  # noqa: S603
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with socket.socket() as check:
            if check.connect_ex(("127.0.0.1", port)) == 0:
                time.sleep(1.0 if workers > 1 else 0.2)  # let every worker come up
                return server, f"ws://127.0.0.1:{port}"
        if server.poll() is not None:
            raise RuntimeError("the server did not start")
        time.sleep(0.2)
    server.kill()
    raise RuntimeError("the server did not start within a minute")


def server_pids(server: subprocess.Popen[bytes]) -> list[int]:
    """The server process and its worker processes."""
    pids = [server.pid]
    children = Path(f"/proc/{server.pid}/task/{server.pid}/children")
    if children.exists():
        pids += [int(pid) for pid in children.read_text().split()]
    return pids


def memory_mb(pid: int, field: str = "VmRSS") -> float:
    """A process's resident memory now (``VmRSS``) or at its peak (``VmHWM``); 0 once gone."""
    try:
        lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    except OSError:
        return 0.0
    kb = next((int(line.split()[1]) for line in lines if line.startswith(f"{field}:")), 0)
    return round(kb / 1024, 1)


def server_cpu_s(server: subprocess.Popen[bytes]) -> float:
    """CPU seconds (user and system) the server process and its workers have used so far."""
    ticks = 0
    for pid in server_pids(server):
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        ticks += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)
    return ticks / os.sysconf("SC_CLK_TCK")


def server_peak_rss_mb(server: subprocess.Popen[bytes]) -> float:
    """Peak resident memory of the server process and its worker processes (VmHWM)."""
    return round(sum(memory_mb(pid, "VmHWM") for pid in server_pids(server)), 1)
