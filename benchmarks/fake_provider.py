"""A stand-in for a remote LLM provider: an OpenAI-compatible chat server on loopback.

The test-suite and the gateway benchmark point the real ``openai`` SDK at it and script how it
behaves per model: a normal answer, an HTTP error with ``Retry-After``, a slow answer, a stream cut
off mid-way, a refusal, a truncated answer. It uses only the standard library, serves each
connection on its own daemon thread, and keeps non-streamed connections alive as the SDK expects.

    with FakeProvider() as provider:
        provider.script("gpt-4o-mini", error(429, retry_after=1), reply("Hello there"))
        client = openai.OpenAI(base_url=provider.base_url, api_key="test")

Every response carries ``x-fake-provider-ms``, the server's own handling time in milliseconds, so
a benchmark can subtract it from what the client measured.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import math
import re
import socket
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from socketserver import TCPServer
from typing import Any, Literal, TypeAlias, cast

__all__ = [
    "Behaviour",
    "Cut",
    "ErrorReply",
    "FakeProvider",
    "Refusal",
    "Reply",
    "Slow",
    "Usage",
    "cut",
    "error",
    "refusal",
    "reply",
    "slow",
    "truncated",
]

DEFAULT_TEXT = "ok"

# Counted from the words ("auto"), given verbatim as (prompt, completion), or left out (None).
Usage: TypeAlias = tuple[int, int] | Literal["auto"] | None


@dataclass(frozen=True)
class Reply:
    """A normal answer; ``usage`` is ``"auto"`` (counted words), a verbatim pair, or None."""

    text: str | None = None
    finish_reason: str = "stop"
    usage: Usage = "auto"


@dataclass(frozen=True)
class ErrorReply:
    """An HTTP error with OpenAI's error body; an empty message means the status's usual one."""

    status: int
    retry_after: float | None = None
    message: str = ""


@dataclass(frozen=True)
class Slow:
    """Wait ``delay_s`` seconds, then behave like ``then`` (a default reply when None)."""

    delay_s: float
    then: Behaviour | None = None


@dataclass(frozen=True)
class Cut:
    """Drop the connection after ``after_words`` streamed words (at once when not streaming)."""

    text: str = "The answer is forty"
    after_words: int = 2


@dataclass(frozen=True)
class Refusal:
    """The model declines: ``content`` is null and ``refusal`` carries the text."""

    text: str = "I can't help with that."


Behaviour: TypeAlias = Reply | ErrorReply | Slow | Cut | Refusal


def reply(
    text: str | None = None,
    *,
    finish_reason: str = "stop",
    usage: Usage = "auto",
) -> Reply:
    """A normal answer (``"ok"`` when no text is given)."""
    return Reply(text=text, finish_reason=finish_reason, usage=usage)


def error(status: int, *, retry_after: float | None = None, message: str = "") -> ErrorReply:
    """An HTTP error; ``retry_after`` adds the ``Retry-After`` and ``retry-after-ms`` headers."""
    return ErrorReply(status=status, retry_after=retry_after, message=message)


def slow(delay_s: float, then: Behaviour | None = None) -> Slow:
    """Sleep before answering: before the headers, or before the first chunk of a stream."""
    return Slow(delay_s=delay_s, then=then)


def cut(text: str = "The answer is forty", after_words: int = 2) -> Cut:
    """Stream ``after_words`` words of ``text``, then close the socket mid-body."""
    return Cut(text=text, after_words=after_words)


def refusal(text: str = "I can't help with that.") -> Refusal:
    """A refusal, as a safety-trained model sends it."""
    return Refusal(text=text)


def truncated(text: str = "The answer is") -> Reply:
    """An answer cut short by the token limit (``finish_reason`` ``"length"``)."""
    return Reply(text=text, finish_reason="length")


# status -> (error type, error code, usual message), as OpenAI's API sends them.
_ERRORS: dict[int, tuple[str, str | None, str]] = {
    400: ("invalid_request_error", None, "Invalid request."),
    401: ("invalid_request_error", "invalid_api_key", "Incorrect API key provided."),
    403: ("permission_error", None, "You are not allowed to sample from this model."),
    404: (
        "invalid_request_error",
        "model_not_found",
        "The model does not exist or you do not have access to it.",
    ),
    409: ("invalid_request_error", None, "The request conflicts with another one."),
    422: ("invalid_request_error", None, "The request could not be processed."),
    429: ("requests", "rate_limit_exceeded", "Rate limit reached for requests."),
    500: (
        "server_error",
        None,
        "The server had an error while processing your request. Sorry about that!",
    ),
    502: ("server_error", None, "Bad gateway."),
    503: ("server_error", None, "The engine is currently overloaded, please try again later."),
    504: ("server_error", None, "The server timed out before answering."),
}

# A word with the spaces before it, so that the streamed pieces join back to the exact text.
_WORD = re.compile(r"\s*\S+")
_FINGERPRINT = "fp_fake"


def _words(text: str) -> list[str]:
    pieces: list[str] = _WORD.findall(text)
    rest = text[sum(map(len, pieces)) :]
    if rest:
        if pieces:
            pieces[-1] += rest
        else:
            pieces.append(rest)
    return pieces


def _word_count(text: str) -> int:
    return max(1, len(text.split()))


def _prompt_words(body: dict[str, Any]) -> int:
    words = 0
    messages = body.get("messages")
    for message in messages if isinstance(messages, list) else []:
        content = message.get("content") if isinstance(message, dict) else None
        if isinstance(content, str):
            words += len(content.split())
        elif isinstance(content, list):
            for part in content:
                if isinstance(part, dict) and isinstance(part.get("text"), str):
                    words += len(part["text"].split())
    return max(1, words)


def _usage(prompt_tokens: int, completion_tokens: int) -> dict[str, Any]:
    return {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
        "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
        "completion_tokens_details": {
            "reasoning_tokens": 0,
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        },
    }


def _error_body(status: int, message: str = "", code: str | None = None) -> dict[str, Any]:
    kind, usual_code, usual_message = _ERRORS.get(
        status,
        ("server_error" if status >= 500 else "invalid_request_error", None, "Request failed."),
    )
    return {
        "error": {
            "message": message or usual_message,
            "type": kind,
            "param": None,
            "code": code or usual_code,
        }
    }


def _ms_text(seconds: float) -> str:
    ms = float(seconds) * 1000
    return str(int(ms)) if ms.is_integer() else f"{ms:.3f}".rstrip("0")


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # Twenty clients connecting at once must not overflow the listen backlog (default 5).
    request_queue_size = 128

    def __init__(self, provider: FakeProvider) -> None:
        self.provider = provider
        self.open_connections: set[socket.socket] = set()
        self.connections_lock = threading.Lock()
        super().__init__(("127.0.0.1", 0), _Handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind asks DNS for the host's name, which can stall in a sandbox.
        TCPServer.server_bind(self)
        self.server_name = "127.0.0.1"
        self.server_port = self.server_address[1]

    def process_request(self, request: Any, client_address: Any) -> None:
        with self.connections_lock:
            self.open_connections.add(request)
        with self.provider._lock:
            self.provider._connections_opened += 1
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self.connections_lock:
            self.open_connections.discard(request)
        super().shutdown_request(request)

    def close_open_connections(self) -> None:
        with self.connections_lock:
            connections = list(self.open_connections)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that hung up (a timeout test, a cut) is expected, not worth a traceback.
        if isinstance(sys.exc_info()[1], OSError):
            return
        super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fake-provider"
    sys_version = ""
    disable_nagle_algorithm = True

    @property
    def provider(self) -> FakeProvider:
        return cast(_Server, self.server).provider

    def log_message(self, format: str, *args: Any) -> None:
        pass

    # -- routing ----------------------------------------------------------------------------

    def parse_request(self) -> bool:
        # The request line has just arrived: the server's own time starts here, headers included.
        self._arrived = time.perf_counter()
        return super().parse_request()

    def do_POST(self) -> None:
        started = self._arrived
        try:
            self._post(started)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def do_GET(self) -> None:
        started = time.perf_counter()
        try:
            self._drain()
            route = self.path.split("?", 1)[0].rstrip("/")
            if route == "/v1/models":
                self._send_json(200, self.provider._models_payload(), started)
            elif route == "/v1/fake/handling-ms":
                self._send_json(200, {"handling_ms": self.provider.handling_ms}, started)
            else:
                self._send_not_found(started)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def do_PUT(self) -> None:
        self._unknown()

    def do_PATCH(self) -> None:
        self._unknown()

    def do_DELETE(self) -> None:
        self._unknown()

    def _unknown(self) -> None:
        started = time.perf_counter()
        try:
            self._drain()
            self._send_not_found(started)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def _send_not_found(self, started: float) -> None:
        message = f"Invalid URL ({self.command} {self.path})"
        self._send_json(404, _error_body(404, message, code="unknown_url"), started)

    def _post(self, started: float) -> None:
        try:
            raw = self._drain()
        except ValueError:
            self.close_connection = True
            self._send_json(400, _error_body(400, "Invalid request body framing."), started)
            return
        if self.path.split("?", 1)[0].rstrip("/") != "/v1/chat/completions":
            self._send_not_found(started)
            return
        try:
            body = json.loads(raw)
        except ValueError:
            body = None
        if not isinstance(body, dict):
            message = "We could not parse the JSON body of your request."
            self._send_json(400, _error_body(400, message), started)
            return
        self.provider._record(body)
        model = body.get("model")
        if not isinstance(model, str):
            message = "you must provide a model parameter"
            self._send_json(400, _error_body(400, message), started)
            return
        self._behave(self.provider._next_behaviour(model), body, started)

    def _drain(self) -> bytes:
        """Read the whole request body, so that the next request on this connection lines up."""
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            parts: list[bytes] = []
            while True:
                size = int(self.rfile.readline().split(b";", 1)[0], 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(parts)
                parts.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        if length < 0:
            raise ValueError("negative Content-Length")
        return self.rfile.read(length) if length else b""

    # -- behaviours -------------------------------------------------------------------------

    def _behave(self, behaviour: Behaviour, body: dict[str, Any], started: float) -> None:
        delay = 0.0
        while isinstance(behaviour, Slow):
            delay += behaviour.delay_s
            behaviour = behaviour.then or Reply()
        streaming = body.get("stream") is True
        if isinstance(behaviour, ErrorReply) or not streaming:
            # Nothing has been sent yet, so the whole wait comes before the headers.
            if delay:
                time.sleep(delay)
            self._answer(behaviour, body, started)
        else:
            self._stream(behaviour, body, started, delay)

    def _answer(
        self, behaviour: Reply | ErrorReply | Cut | Refusal, body: dict[str, Any], started: float
    ) -> None:
        if isinstance(behaviour, ErrorReply):
            headers = []
            if behaviour.retry_after is not None:
                headers.append(("Retry-After", str(math.ceil(behaviour.retry_after))))
                headers.append(("retry-after-ms", _ms_text(behaviour.retry_after)))
            failure = _error_body(behaviour.status, behaviour.message)
            self._send_json(behaviour.status, failure, started, headers)
            return
        if isinstance(behaviour, Cut):
            self._hang_up()
            return
        model = body["model"]
        if isinstance(behaviour, Refusal):
            message: dict[str, Any] = {"content": None, "refusal": behaviour.text}
            text, finish_reason, usage = behaviour.text, "stop", Reply().usage
        else:
            text = DEFAULT_TEXT if behaviour.text is None else behaviour.text
            message = {"content": text, "refusal": None}
            finish_reason, usage = behaviour.finish_reason, behaviour.usage
        payload: dict[str, Any] = {
            "id": self.provider._completion_id(),
            "object": "chat.completion",
            "created": int(time.time()),
            "model": model,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", **message, "annotations": []},
                    "logprobs": None,
                    "finish_reason": finish_reason,
                }
            ],
        }
        counted = self._count_usage(usage, body, text)
        if counted is not None:
            payload["usage"] = counted
        payload["service_tier"] = "default"
        payload["system_fingerprint"] = _FINGERPRINT
        self._send_json(200, payload, started)

    def _stream(
        self, behaviour: Reply | Cut | Refusal, body: dict[str, Any], started: float, delay: float
    ) -> None:
        options = body.get("stream_options")
        include_usage = isinstance(options, dict) and options.get("include_usage") is True
        base: dict[str, Any] = {
            "id": self.provider._completion_id(),
            "object": "chat.completion.chunk",
            "created": int(time.time()),
            "model": body["model"],
            "service_tier": "default",
            "system_fingerprint": _FINGERPRINT,
        }

        def event(delta: dict[str, Any], finish_reason: str | None = None) -> bytes:
            choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}
            chunk = {**base, "choices": [choice]}
            if include_usage:
                chunk["usage"] = None
            return _sse(chunk)

        key = "refusal" if isinstance(behaviour, Refusal) else "content"
        if isinstance(behaviour, Reply):
            text = DEFAULT_TEXT if behaviour.text is None else behaviour.text
        else:
            text = behaviour.text
        first = (
            {"role": "assistant", "content": None, "refusal": ""}
            if key == "refusal"
            else {"role": "assistant", "content": "", "refusal": None}
        )
        words = _words(text)
        if isinstance(behaviour, Cut):
            words = words[: behaviour.after_words]

        self.close_connection = True
        # The headers go out before the wait, so the figure counts the wait that is to come.
        self._write_head(
            200,
            [
                ("Content-Type", "text/event-stream; charset=utf-8"),
                ("Transfer-Encoding", "chunked"),
                ("Connection", "close"),
            ],
            started,
            extra_s=delay,
        )
        if delay:
            time.sleep(delay)
        self.wfile.write(_chunk(event(first)))
        for word in words:
            self.wfile.write(_chunk(event({key: word})))
        if isinstance(behaviour, Cut):
            self._hang_up()
            return
        finish_reason = behaviour.finish_reason if isinstance(behaviour, Reply) else "stop"
        tail = [event({}, finish_reason)]
        usage = behaviour.usage if isinstance(behaviour, Reply) else Reply().usage
        counted = self._count_usage(usage, body, text) if include_usage else None
        if counted is not None:
            tail.append(_sse({**base, "choices": [], "usage": counted}))
        tail.append(b"data: [DONE]\n\n")
        self.wfile.write(b"".join(_chunk(part) for part in tail) + b"0\r\n\r\n")

    @staticmethod
    def _count_usage(usage: Usage, body: dict[str, Any], text: str) -> dict[str, Any] | None:
        if usage is None:
            return None
        if usage == "auto":
            return _usage(_prompt_words(body), _word_count(text))
        return _usage(*usage)

    def _hang_up(self) -> None:
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    # -- wire -------------------------------------------------------------------------------

    def _send_json(
        self,
        status: int,
        payload: dict[str, Any],
        started: float,
        headers: list[tuple[str, str]] | None = None,
    ) -> None:
        data = json.dumps(payload, separators=(",", ":")).encode()
        all_headers = [
            ("Content-Type", "application/json"),
            ("Content-Length", str(len(data))),
            *(headers or []),
        ]
        if self.close_connection:
            all_headers.append(("Connection", "close"))
        self._write_head(status, all_headers, started, body=data)

    def _write_head(
        self,
        status: int,
        headers: list[tuple[str, str]],
        started: float,
        *,
        body: bytes = b"",
        extra_s: float = 0.0,
    ) -> None:
        """Write status line, headers and any body in one send; Nagle is off, so it leaves now."""
        try:
            phrase = HTTPStatus(status).phrase
        except ValueError:
            phrase = ""
        lines = [
            f"HTTP/1.1 {status} {phrase}",
            f"Date: {self.date_time_string()}",
            f"Server: {self.server_version}",
            f"x-request-id: req_{self.provider._next_id()}",
            *(f"{name}: {value}" for name, value in headers),
        ]
        elapsed_ms = (time.perf_counter() - started + extra_s) * 1000
        lines.append(f"x-fake-provider-ms: {elapsed_ms:.3f}")
        if self.command == "POST":  # chat completions only, not the stats endpoint itself
            self.provider._handled(elapsed_ms)
        self.wfile.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)


def _sse(chunk: dict[str, Any]) -> bytes:
    return b"data: " + json.dumps(chunk, separators=(",", ":")).encode() + b"\n\n"


def _chunk(data: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(data), data)


class FakeProvider:
    """OpenAI-compatible chat server on loopback that misbehaves on command."""

    def __init__(self, default: Behaviour | None = None) -> None:
        self._default = default or Reply()  # for requests with no script left
        self._lock = threading.Lock()
        self._scripts: dict[str, deque[Behaviour]] = {}
        self._requests: list[dict[str, Any]] = []
        self._handling_ms: list[float] = []
        self._ids = itertools.count(1)
        self._connections_opened = 0
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> FakeProvider:
        """Bind 127.0.0.1 on a free port and serve on a daemon thread."""
        if self._server is not None:
            raise RuntimeError("FakeProvider is already running")
        self._server = _Server(self)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"fake-provider:{self._server.server_port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop accepting, and close the connections clients still hold open."""
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        server.close_open_connections()
        server.server_close()
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def __enter__(self) -> FakeProvider:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        """The URL to hand the SDK as ``base_url``, e.g. ``http://127.0.0.1:54321/v1``."""
        if self._server is None:
            raise RuntimeError("FakeProvider is not running")
        return f"http://127.0.0.1:{self._server.server_port}/v1"

    @property
    def requests(self) -> list[dict[str, Any]]:
        """Every JSON request body received, in arrival order (a copy)."""
        with self._lock:
            return list(self._requests)

    @property
    def handling_ms(self) -> list[float]:
        """The server's own time per response (as in ``x-fake-provider-ms``), in order (a copy)."""
        with self._lock:
            return list(self._handling_ms)

    @property
    def connections_opened(self) -> int:
        """How many TCP connections clients have opened, to check that keep-alive works."""
        with self._lock:
            return self._connections_opened

    def script(self, model: str, *behaviours: Behaviour) -> None:
        """Queue behaviours for requests naming ``model``; each request takes the next one."""
        with self._lock:
            self._scripts.setdefault(model, deque()).extend(behaviours)

    def reset(self) -> None:
        """Forget every script and every recorded request."""
        with self._lock:
            self._scripts.clear()
            self._requests.clear()
            self._handling_ms.clear()

    def _handled(self, elapsed_ms: float) -> None:
        with self._lock:
            self._handling_ms.append(elapsed_ms)

    def _record(self, body: dict[str, Any]) -> None:
        with self._lock:
            self._requests.append(body)

    def _next_behaviour(self, model: str) -> Behaviour:
        with self._lock:
            queue = self._scripts.get(model)
            return queue.popleft() if queue else self._default

    def _next_id(self) -> int:
        return next(self._ids)

    def _completion_id(self) -> str:
        return f"chatcmpl-{self._next_id()}"

    def _models_payload(self) -> dict[str, Any]:
        with self._lock:
            models = sorted(self._scripts)
        return {
            "object": "list",
            "data": [
                {"id": model, "object": "model", "created": 0, "owned_by": "fake-provider"}
                for model in models
            ],
        }


def main() -> None:
    """Serve from the command line (the gateway benchmark runs it in its own process).

    Prints the base URL, then serves until stdin closes. ``--delay S`` answers every request
    after S seconds, like a provider that takes its time.
    """
    import argparse

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--delay", type=float, default=0.0)
    delay = parser.parse_args().delay
    with FakeProvider(slow(delay) if delay else None) as provider:
        print(provider.base_url, flush=True)
        sys.stdin.read()


if __name__ == "__main__":
    main()
