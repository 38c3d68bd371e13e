"""Real server processes on loopback (uvicorn, as in production) and end users talking to them
over real websockets."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from contextlib import ExitStack
from pathlib import Path

from django.conf import settings
from websockets.sync.client import ClientConnection, connect

ROOT = Path(__file__).resolve().parents[2]


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
