"""The environment really switches the parts: SQLite or PostgreSQL, in-memory or Redis.

CI runs the suite twice, once per column, so each assertion holds for the run it is in.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from channels.layers import get_channel_layer
from django.conf import settings
from django.core.cache import cache, caches
from django.db import connection
from huey import RedisHuey, SqliteHuey
from huey.contrib.djhuey import HUEY

from config.asgi import application


def test_the_database_is_the_one_database_url_names(db: None) -> None:
    expected = "postgresql" if settings.DATABASE_URL else "sqlite"
    assert connection.vendor == expected


def test_the_cache_lives_where_redis_url_says() -> None:
    key = f"wiring-{uuid.uuid4()}"
    cache.set(key, "stored", timeout=30)
    if settings.REDIS_URL:
        import redis

        raw = redis.Redis.from_url(settings.REDIS_URL)
        assert raw.exists(f"parley:1:{key}") == 1
    else:
        assert type(caches["default"]).__name__ == "LocMemCache"
    assert cache.get(key) == "stored"


def test_the_task_queue_backend_follows_redis_url() -> None:
    assert isinstance(HUEY, RedisHuey if settings.REDIS_URL else SqliteHuey)


@pytest.mark.asyncio
async def test_a_group_message_crosses_channel_layer_instances() -> None:
    """With Redis, a message sent by one process's layer reaches a socket held by another's."""
    sender = get_channel_layer()
    receiver = (
        sender
        if not settings.REDIS_URL
        else type(sender)(hosts=[settings.REDIS_URL], prefix="parley:channels")
    )
    channel = await receiver.new_channel()
    group = f"wiring-{uuid.uuid4().hex}"
    await receiver.group_add(group, channel)
    await sender.group_send(group, {"type": "ping", "text": "hello"})
    message = await asyncio.wait_for(receiver.receive(channel), timeout=5)
    assert message["text"] == "hello"
    await receiver.group_discard(group, channel)


@contextlib.asynccontextmanager
async def _served() -> AsyncIterator[None]:
    """The ASGI app between its lifespan startup and shutdown, each checked to complete."""
    inbox: asyncio.Queue[dict[str, str]] = asyncio.Queue()
    outbox: asyncio.Queue[dict[str, str]] = asyncio.Queue()
    server = asyncio.ensure_future(application({"type": "lifespan"}, inbox.get, outbox.put))
    await inbox.put({"type": "lifespan.startup"})
    assert (await asyncio.wait_for(outbox.get(), 5))["type"] == "lifespan.startup.complete"
    yield
    await inbox.put({"type": "lifespan.shutdown"})
    assert (await asyncio.wait_for(outbox.get(), 15))["type"] == "lifespan.shutdown.complete"
    await server


@HUEY.task()
def add(a: int, b: int) -> int:
    return a + b


@pytest.mark.skipif(
    bool(settings.REDIS_URL), reason="with Redis, task workers are separate processes"
)
@pytest.mark.asyncio
async def test_the_server_process_runs_queued_tasks_between_startup_and_shutdown() -> None:
    HUEY.immediate = False
    try:
        async with _served():
            result = add(2, 3)
            deadline = time.monotonic() + 10
            value = None
            while value is None and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
                value = result.get()
            assert value == 5
    finally:
        HUEY.immediate = True


@pytest.mark.asyncio
async def test_what_the_server_builds_while_starting_is_kept_out_of_full_collections() -> None:
    gc.unfreeze()
    assert gc.get_freeze_count() == 0
    async with _served():
        # The routing, built while importing the app, is no longer walked by the collector.
        routes = application.application_mapping
        assert gc.is_tracked(routes)
        assert gc.get_freeze_count() > 0
        assert all(thing is not routes for thing in gc.get_objects())


WORKER = """
import django
django.setup()
import tests.config.test_wiring  # registers the task
from huey.contrib.djhuey import HUEY
HUEY.create_consumer(workers=1, worker_type="thread").run()
"""


@pytest.mark.skipif(not settings.REDIS_URL, reason="without Redis, tasks run in the server process")
def test_a_separate_worker_process_runs_tasks_queued_in_redis() -> None:
    HUEY.immediate = False
    worker = subprocess.Popen(
        [sys.executable, "-c", WORKER],
        cwd=Path(__file__).resolve().parents[2],
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings"},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        result = add(20, 22)
        assert result.get(blocking=True, timeout=30) == 42
    finally:
        HUEY.immediate = True
        worker.send_signal(signal.SIGINT)
        worker.wait(timeout=30)


FRESH_SERVER = """
import asyncio, django
django.setup()
from config.asgi import application
from huey.contrib.djhuey import HUEY

async def main():
    inbox, outbox = asyncio.Queue(), asyncio.Queue()
    server = asyncio.ensure_future(application({"type": "lifespan"}, inbox.get, outbox.put))
    await inbox.put({"type": "lifespan.startup"})
    await outbox.get()
    print(sorted(HUEY._registry._registry))
    await inbox.put({"type": "lifespan.shutdown"})
    await outbox.get()
    await server

asyncio.run(main())
from core.jobs import job_kind
kinds = ("training", "analysis", "synthesis", "evaluation", "prompt_tests", "conversation_tests")
print([job_kind(name).name for name in (*kinds, "documents")])
"""


@pytest.mark.skipif(bool(settings.REDIS_URL), reason="with Redis, tasks run in worker processes")
def test_a_fresh_server_process_knows_every_task_it_may_be_handed(tmp_path: Path) -> None:
    output = subprocess.run(
        [sys.executable, "-c", FRESH_SERVER],
        cwd=Path(__file__).resolve().parents[2],
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings", "DATA_DIR": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout

    assert "core.tasks.job_run" in output  # every kind of job runs through it
    assert "knowledge.tasks.kb_refresh_due" in output
    assert "'conversation_tests', 'documents']" in output  # every kind registered itself
