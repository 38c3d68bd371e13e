"""Two Redis-backed server processes; one is killed between turns of live conversations. Each
client reconnects to the other with the last number it saw and carries on: nothing is lost or
repeated (real processes, real sockets)."""

from __future__ import annotations

import signal
import subprocess
from collections.abc import Iterator

import pytest
from django.conf import settings

from builder.demo import demo_publish, demo_seed
from runtime.models import Message
from tests.support.servers import Client, free_port, start_server

SESSIONS = 3
BEFORE = ["a large pepperoni pizza please", "where is my order"]
AFTER = ["when are you open", "goodbye"]

pytestmark = pytest.mark.skipif(not settings.REDIS_URL, reason="needs REDIS_URL")


@pytest.fixture
def workers(transactional_db: None) -> Iterator[tuple[int, subprocess.Popen[bytes], int]]:
    demo = demo_seed()
    demo_publish(demo.assistant)
    ports = free_port(), free_port()
    servers = [start_server(port) for port in ports]
    yield demo.assistant.pk, servers[0], ports[1]
    for server in servers:
        if server.poll() is None:
            server.terminate()
            server.wait(timeout=10)


def test_conversations_carry_on_on_the_other_worker_after_one_is_killed(workers):
    assistant, first, second_port = workers
    first_port = int(first.args[first.args.index("--port") + 1])
    clients = [Client(f"visitor-{n}") for n in range(SESSIONS)]
    for client in clients:
        client.open(first_port, assistant)
        client.receive_until_waiting()
        for text in BEFORE:
            client.say(text)

    first.send_signal(signal.SIGKILL)  # no graceful shutdown: the process is simply gone
    first.wait(timeout=10)

    for client in clients:
        client.open(second_port, assistant)
        resumed = client.receive_until_waiting()
        assert resumed[0] == {
            "type": "welcome",
            "conversation": client.conversation,
            "resumed": True,
        }
        for text in AFTER:
            client.say(text)
        client.sockets.close()

    for client in clients:
        stored = list(
            Message.objects.filter(conversation_id=str(client.conversation)).order_by("seq")
        )
        numbers = [message.seq for message in stored]
        assert numbers == list(range(1, len(numbers) + 1)), "numbered without gaps"
        said = [m.payload.get("text") for m in stored if m.payload.get("type") == "user"]
        assert said == BEFORE + AFTER, "every message of the user is kept, once, in order"
        bot = [m.seq for m in stored if not m.from_user]
        assert set(bot) <= set(client.seen), "the client saw every reply, across both workers"
        texts = [str(client.seen[seq].get("text", "")) for seq in sorted(client.seen)]
        assert any(text.startswith("One large pepperoni pizza") for text in texts)
        assert any("open every day" in text for text in texts)
        assert any("Thanks for visiting" in text for text in texts)
