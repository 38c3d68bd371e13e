"""The product served by a real uvicorn on loopback, for browser and load tests (a pytest plugin:
``tests/conftest.py`` loads it, so any test can ask for ``live_url``)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import uvicorn

from config.asgi import application


@contextmanager
def serving(**options: Any) -> Iterator[str]:
    """The product served by uvicorn on a free loopback port, HTTP and websockets, exactly as in
    production; yields its base URL and stops it after."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(application, lifespan="off", log_level="warning", **options)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test server did not start")
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)
    sock.close()


@pytest.fixture
def live_url(transactional_db: None) -> Iterator[str]:
    with serving(ws="websockets-sansio") as url:
        yield url
