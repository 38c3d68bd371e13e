"""Faults of what the product stands on, made real: a disk that fills up during an upload, a
database that drops its connections, an LLM provider that goes down, Redis restarting under live
chats, a task worker killed mid-job. Each request fails plainly or carries on, nothing is left
half-saved, and everything recovers."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest
from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import close_old_connections, connection, transaction

from builder import services
from core.models import Assistant
from gateway.models import Provider
from knowledge.models import Document, DocumentStatus
from knowledge.search import kb_search
from knowledge.services import document_upload, knowledge_base_of
from tests.support.chat import frames_until, open_chat
from tests.support.servers import (
    ROOT,
    Client,
    database_url,
    free_port,
    start_server,
)

SQLITE = settings.DATABASES["default"]["ENGINE"].endswith("sqlite3")
POSTGRES = settings.DATABASES["default"]["ENGINE"].endswith("postgresql")
HANDBOOK = b"# Returns\n\nCustomers may return a pizza within ten minutes of delivery for a refund."


# --- a full disk ---------------------------------------------------------------------------------


@pytest.mark.skipif(not SQLITE, reason="SQLite's page limit fills the database as a disk would")
def test_an_upload_onto_a_full_disk_fails_clearly_and_keeps_nothing(
    api_for, editor, assistant, django_capture_on_commit_callbacks
):
    kb = knowledge_base_of(assistant)
    with django_capture_on_commit_callbacks(execute=True):
        document_upload(kb, name="returns.md", data=HANDBOOK)
    url = f"/api/assistants/{assistant.pk}/knowledge/documents/"
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA page_count")
        pages = cursor.fetchone()[0]
        # No room for more than a few pages: SQLite answers "database or disk is full", exactly
        # as when the disk itself has no space left.
        cursor.execute(f"PRAGMA max_page_count = {pages + 2}")
    try:
        big = ("Our opening hours change with the seasons. " * 5_000).encode()
        upload = {"file": _file("hours.txt", big)}
        response = api_for(editor).post(url, upload, format="multipart")
    finally:
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA max_page_count = 1073741823")

    assert response.status_code == 507
    assert "out of storage space, so nothing was saved" in response.json()["detail"]
    assert list(Document.objects.values_list("name", "status")) == [
        ("returns.md", DocumentStatus.READY)
    ]
    assert kb_search(kb, "can I return a pizza").passages  # the rest is still searchable


def _file(name: str, data: bytes):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, data)


# --- the database drops its connections ----------------------------------------------------------


@pytest.mark.skipif(not POSTGRES, reason="needs PostgreSQL (DATABASE_URL)")
@pytest.mark.django_db(transaction=True)
def test_a_dropped_database_connection_fails_the_request_cleanly_and_the_next_one_works(
    api_for, editor, assistant
):
    import psycopg

    client = api_for(editor)
    assert client.get(f"/api/assistants/{assistant.pk}/").status_code == 200
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        ours = cursor.fetchone()[0]
    database = settings.DATABASES["default"]
    with psycopg.connect(
        host=database["HOST"],
        port=database["PORT"],
        user=database["USER"],
        password=database["PASSWORD"],
        dbname=database["NAME"],
        autocommit=True,
    ) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", [ours])  # as a restart or failover would

    dropped = client.patch(f"/api/assistants/{assistant.pk}/", {"description": "x"}, format="json")
    # After each request Django's handler drops a connection that errored (the test client
    # turns that off to keep test transactions; here it is done as the server does it).
    close_old_connections()
    recovered = client.patch(
        f"/api/assistants/{assistant.pk}/", {"description": "Back"}, format="json"
    )

    assert dropped.status_code == 503
    assert dropped["Retry-After"] == "5"
    assert "database is unavailable" in dropped.json()["detail"]
    assert recovered.status_code == 200
    assert Assistant.objects.get(pk=assistant.pk).description == "Back"


# --- the LLM provider goes down ------------------------------------------------------------------

GENERATE_FLOW = {
    "start": "hello",
    "steps": [
        {"id": "hello", "type": "message", "text": "Hi! Ask me anything.", "intents": []},
        {
            "id": "answer",
            "type": "generate",
            "prompt": 0,
            "next": "hello",
            "on_error": "sorry",
        },
        {"id": "sorry", "type": "message", "text": "Sorry, I can't answer that right now."},
    ],
    "triggers": [{"intent": "question", "next": "answer"}],
}


@pytest.fixture
def chatty(assistant: Assistant, primary, settings) -> Assistant:
    """An assistant whose questions go to the LLM, with a trained draft."""
    settings.LLM_COOLDOWN_S = 1.0
    with transaction.atomic():
        services.intent_create(
            assistant=assistant,
            name="question",
            utterances=["what is in the veggie pizza", "tell me about your dough", "why so tasty"],
        )
        services.intent_create(
            assistant=assistant,
            name="greet",
            utterances=["hello", "hi there", "good evening", "hey"],
        )
        prompt = services.prompt_create(
            assistant=assistant,
            name="answer",
            template="Answer: {{ last_utterance }}",
            model=primary,
        )
        flow = json.loads(json.dumps(GENERATE_FLOW))
        flow["steps"][1]["prompt"] = prompt.pk
        services.flow_create(assistant=assistant, name="Main", graph=flow)
    return assistant


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_while_the_provider_is_down_users_get_a_polite_reply_at_once_then_answers_again(
    client_for, editor, chatty, fake
):
    provider = await sync_to_async(Provider.objects.get)(key="loopback")
    up = provider.base_url
    provider.base_url = f"http://127.0.0.1:{free_port()}/v1"  # nothing listens there
    await sync_to_async(provider.save)()
    chat, _ = await open_chat(client_for, editor, chatty)
    await chat.send_json_to({"type": "hello", "user": "asker"})
    await frames_until(chat, "text")

    started = time.monotonic()
    await chat.send_json_to({"type": "text", "text": "what is in the veggie pizza"})
    down = await frames_until(chat, "text")
    waited = time.monotonic() - started
    await chat.send_json_to({"type": "text", "text": "tell me about your dough"})
    still_down = await frames_until(chat, "text")  # the model is cooling down: no wait at all

    provider.base_url = up
    await sync_to_async(provider.save)()
    await sync_to_async(time.sleep)(1.1)  # LLM_COOLDOWN_S
    await chat.send_json_to({"type": "text", "text": "what is in the veggie pizza"})
    back = await frames_until(chat, "stream.end")
    await chat.disconnect()

    assert down[-1]["text"] == "Sorry, I can't answer that right now."
    assert any(f["type"] == "stream.end" and f["complete"] is False for f in down)
    assert waited < 20  # retries are bounded: the socket never hangs
    assert still_down[-1]["text"] == "Sorry, I can't answer that right now."
    assert back[-1]["complete"] is True
    assert back[-1]["text"]  # generated again
    assert any(request["stream"] for request in fake.requests)


# --- Redis restarts under live chats -----------------------------------------------------------


@pytest.fixture
def private_redis() -> Iterator[tuple[int, callable]]:  # type: ignore[valid-type]
    """A Redis server of this test's own, which it may stop and start again."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("redis-server is not installed (.ci/run installs it)")
    port = free_port()
    processes: list[subprocess.Popen[bytes]] = []

    def start() -> None:
        command = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", ""]
        processes.append(
            subprocess.Popen([*command, "--appendonly", "no"], stdout=subprocess.DEVNULL)
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            probe = subprocess.run(
                ["redis-cli", "-p", str(port), "ping"],
                capture_output=True,
                check=False,
            )
            if probe.stdout.strip() == b"PONG":
                return
            time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    start()
    yield port, start
    for process in processes:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)


@pytest.mark.django_db(transaction=True)
def test_chats_carry_on_when_redis_restarts(private_redis, monkeypatch):
    from builder.demo import demo_publish, demo_seed
    from runtime.models import Message

    port, redis_start = private_redis
    monkeypatch.setattr(settings, "REDIS_URL", f"redis://127.0.0.1:{port}/0")
    demo = demo_seed()
    demo_publish(demo.assistant)
    server_port = free_port()
    server = start_server(server_port)
    clients = [Client(f"visitor-{n}") for n in range(3)]
    try:
        for client in clients:
            client.open(server_port, demo.assistant.pk)
            client.receive_until_waiting()
            client.say("a large pepperoni pizza please")
        subprocess.run(
            ["redis-cli", "-p", str(port), "shutdown", "nosave"],
            check=False,
        )
        for client in clients:  # Redis is gone: the chat still answers
            client.say("where is my order")
        redis_start()  # back, empty: nothing of the chats lived only there
        for client in clients:
            client.say("when are you open")
            client.sockets.close()
        clients[0].open(server_port, demo.assistant.pk)  # and a reconnect resumes as ever
        assert clients[0].receive_until_waiting()[0]["resumed"] is True
        clients[0].say("goodbye")
        clients[0].sockets.close()
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=15)

    for client in clients:
        stored = list(
            Message.objects.filter(conversation_id=str(client.conversation)).order_by("seq")
        )
        numbers = [message.seq for message in stored]
        assert numbers == list(range(1, len(numbers) + 1))
        said = [m.payload.get("text") for m in stored if m.payload.get("type") == "user"]
        expected = ["a large pepperoni pizza please", "where is my order", "when are you open"]
        assert said[:3] == expected
        assert {m.seq for m in stored if not m.from_user} <= set(client.seen)
        texts = [str(client.seen[s].get("text", "")) for s in sorted(client.seen)]
        assert any("left the kitchen" in text for text in texts)
        assert any("open every day" in text for text in texts)


# --- a task worker killed mid-job --------------------------------------------------------------

TOPICS = ["pizza", "pasta", "salad", "dessert", "drink", "delivery", "refund", "table", "voucher"]
ASKS = ["I want to know about {}", "tell me about the {}", "question on {} please", "help with {}"]
WHEN = ["", " today", " tonight", " now", " this week", " for my family", " right away"]


@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_training_leaves_no_job_running_and_the_training_is_retried(
    assistant, settings
):
    from core.jobs import jobs_recover
    from core.models import TrainingRun, TrainingStatus

    with transaction.atomic():  # enough data that a training takes a few seconds
        for topic in TOPICS:
            utterances = [ask.format(topic) + when for ask in ASKS for when in WHEN]
            services.intent_create(assistant=assistant, name=topic, utterances=utterances)
    run = TrainingRun.objects.create(assistant=assistant)  # queued; this worker takes it
    worker = subprocess.Popen(
        [
            sys.executable,
            "manage.py",
            "shell",
            "-c",
            f"from builder.services.training import training_run_execute as t; t({run.pk})",
        ],
        cwd=ROOT,
        env={
            **os.environ,
            "DATABASE_URL": database_url(),
            "NLU_MODELS_DIR": str(settings.NLU_MODELS_DIR),
            "LLM_PRELOAD_LOCAL": "false",
        },
    )
    deadline = time.monotonic() + 60
    while TrainingRun.objects.get(pk=run.pk).status == TrainingStatus.QUEUED:
        assert time.monotonic() < deadline, "the worker never took the run"
        time.sleep(0.02)
    worker.send_signal(signal.SIGKILL)  # mid-training: no chance to clean up
    worker.wait(timeout=10)
    assert TrainingRun.objects.get(pk=run.pk).status == TrainingStatus.RUNNING

    assert jobs_recover(stale_after_s=60)["training"] == 0  # still beating recently: left alone
    time.sleep(1.1)
    recovered = jobs_recover(stale_after_s=1)

    assert recovered["training"] == 1
    run.refresh_from_db()
    assert run.status == TrainingStatus.FAILED
    assert run.error.startswith("The worker running this job stopped")
    retry = assistant.training_runs.first()
    assert retry.pk != run.pk
    assert retry.status == TrainingStatus.DONE  # the retry trained the draft
