"""Rate limits hold exactly under concurrency, and across processes when Redis is configured."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from django.conf import settings

from gateway.limits import MemoryLimiter, limiter

ROOT = Path(__file__).resolve().parents[2]


def test_the_memory_limiter_admits_exactly_the_limit_from_many_threads():
    counter = MemoryLimiter()
    admitted: list[bool] = []
    start = threading.Barrier(50)

    def take() -> None:
        start.wait()
        admitted.append(counter.admit("a", requests=7, tokens=None, cost_tokens=1) is None)

    threads = [threading.Thread(target=take) for _ in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert admitted.count(True) == 7


def test_a_token_limit_refuses_once_the_minutes_tokens_are_spent():
    counter = MemoryLimiter()
    assert counter.admit("a", requests=None, tokens=1000, cost_tokens=600) is None
    counter.spend("a", 300)

    wait = counter.admit("a", requests=None, tokens=1000, cost_tokens=200)

    assert wait is not None
    assert 0 < wait <= 60
    assert counter.admit("b", requests=None, tokens=1000, cost_tokens=200) is None  # per key


def test_a_single_request_larger_than_the_token_limit_is_still_admitted_into_an_empty_window():
    assert MemoryLimiter().admit("a", requests=None, tokens=100, cost_tokens=500) is None


@pytest.mark.skipif(not settings.REDIS_URL, reason="needs REDIS_URL")
def test_the_redis_limiter_is_exact_across_processes(
    fake, primary, assistant, transactional_db, tmp_path
):
    assistant.llm_requests_per_minute = 10
    assistant.save(update_fields=["llm_requests_per_minute"])
    limiter().clear()
    database = settings.DATABASES["default"]
    url = (
        f"postgresql://{database['USER']}:{database['PASSWORD']}@{database['HOST']}:"
        f"{database['PORT']}/{database['NAME']}"
    )
    env = {**os.environ, "DATABASE_URL": url, "REDIS_URL": str(settings.REDIS_URL)}
    command = [sys.executable, "-m", "tests.gateway.limit_worker", str(assistant.pk), primary.key]
    workers = [
        subprocess.Popen([*command, "15"], cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    counts = [json.loads(worker.communicate(timeout=120)[0]) for worker in workers]

    assert sum(count["ok"] for count in counts) == 10
    assert sum(count["limited"] for count in counts) == 20
    assert len(fake.requests) == 10
