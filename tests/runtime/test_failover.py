"""Two Redis-backed server processes; one is killed between turns of live conversations. Each
client reconnects to the other with the last number it saw and carries on: nothing is lost or
repeated (real processes, real sockets)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
from django.conf import settings
from websockets.sync.client import ClientConnection, connect

from builder.demo import demo_publish, demo_seed
from runtime.models import Message

ROOT = Path(__file__).resolve().parents[2]
SESSIONS = 3
BEFORE = ["a large pepperoni pizza please", "where is my order"]
AFTER = ["when are you open", "goodbye"]

pytestmark = pytest.mark.skipif(not settings.REDIS_URL, reason="needs REDIS_URL")


def database_url() -> str:
    database = settings.DATABASES["default"]
    if database["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{database['NAME']}"
    return (
        f"postgresql://{database['USER']}:{database['PASSWORD']}@{database['HOST']}:"
        f"{database['PORT']}/{database['NAME']}"
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(port: int) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "REDIS_URL": str(settings.REDIS_URL),
        "NLU_MODELS_DIR": str(settings.NLU_MODELS_DIR),
        "LLM_PRELOAD_LOCAL": "false",
        "TASKS_IN_PROCESS": "false",
    }
    command = [sys.executable, "-m", "uvicorn", "config.asgi:application", "--port", str(port)]
    server = subprocess.Popen([*command, "--log-level", "warning"], cwd=ROOT, env=env)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return server
        except OSError:
            time.sleep(0.1)
    server.kill()
    raise RuntimeError(f"the server on port {port} did not start")


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


class Client:
    """One end user: the frames it saw, by number."""

    def __init__(self, user: str) -> None:
        self.user = user
        self.conversation: str | None = None
        self.seen: dict[int, dict[str, object]] = {}
        self.socket: ClientConnection | None = None
        self.sockets = ExitStack()

    @property
    def last_seq(self) -> int:
        return max(self.seen, default=0)

    def open(self, port: int, assistant: int) -> None:
        url = f"ws://127.0.0.1:{port}/ws/chat/{assistant}/"
        self.socket = self.sockets.enter_context(connect(url, open_timeout=10))
        hello = {"type": "hello", "user": self.user, "last_seq": self.last_seq}
        if self.conversation:
            hello["conversation"] = self.conversation
        self.socket.send(json.dumps(hello))

    def receive_until_waiting(self) -> list[dict[str, object]]:
        """Frames until the assistant has answered (a text frame, then a quiet moment)."""
        assert self.socket is not None
        frames: list[dict[str, object]] = []
        timeout = 15.0
        while True:
            try:
                frame = json.loads(self.socket.recv(timeout=timeout))
            except TimeoutError:
                return frames
            frames.append(frame)
            if frame.get("type") == "welcome":
                self.conversation = str(frame["conversation"])
            if "seq" in frame:
                assert frame["seq"] not in self.seen, f"frame {frame['seq']} came twice"
                self.seen[int(frame["seq"])] = frame
            if frame.get("type") in ("text", "end"):
                timeout = 0.5  # more frames of the same turn come at once

    def say(self, text: str) -> None:
        assert self.socket is not None
        self.socket.send(json.dumps({"type": "text", "text": text}))
        self.receive_until_waiting()


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
