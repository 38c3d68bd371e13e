"""The load test's own checks, run small against a real server (its timings are not asserted)."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time

import pytest

from benchmarks.loadtest import loadtest_run, server_cpu_s
from builder.demo import demo_publish, demo_seed


@pytest.fixture
def demo_chat_url(live_url: str) -> str:
    demo = demo_seed()
    demo_publish(demo.assistant)
    return live_url.replace("http://", "ws://") + f"/ws/chat/{demo.assistant.pk}/"


def test_concurrent_sessions_get_every_reply_once_and_in_order(demo_chat_url: str) -> None:
    report = asyncio.run(
        loadtest_run(url=demo_chat_url, sessions=8, turns=3, pause_s=(0.0, 0.05), ramp_s=0.1)
    )

    assert report["turns"] == 24
    assert (report["lost_messages"], report["duplicate_messages"]) == (0, 0)
    assert (report["wrong_replies"], report["errors"]) == (0, 0), report["error_examples"]


def test_a_server_that_is_not_there_counts_as_errors_not_a_crash() -> None:
    report = asyncio.run(
        loadtest_run(url="ws://127.0.0.1:9/ws/chat/1/", sessions=2, turns=1, ramp_s=0, timeout_s=2)
    )

    assert report["errors"] == 2
    assert report["lost_messages"] == 2


def test_server_cpu_counts_the_time_a_process_spent_working() -> None:
    burn = "import time\nend = time.process_time() + 0.3\nwhile time.process_time() < end: pass\n"
    process = subprocess.Popen([sys.executable, "-c", burn + "time.sleep(30)"])
    try:
        deadline = time.monotonic() + 20
        while server_cpu_s(process) < 0.3 and time.monotonic() < deadline:
            time.sleep(0.05)
        spent = server_cpu_s(process)
        time.sleep(0.3)  # now it sleeps: no more CPU
        assert 0.3 <= spent <= server_cpu_s(process) < spent + 0.1
    finally:
        process.kill()
        process.wait()
