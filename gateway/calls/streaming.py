"""Streamed calls: ``stream`` yields the reply as it is written, on the same pipeline as
``complete``; ``astream`` is the same for async code (the chat consumers)."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator, Generator, Iterator
from typing import Any, Unpack, cast

from django.conf import settings
from django.db import close_old_connections

from gateway.calls.pipeline import CallPipeline
from gateway.calls.results import CacheMode, CallOptions, Done, Failed, Messages, StreamEvent
from gateway.errors import (
    GatewayError,
    StreamBroken,
)
from gateway.ledger import CallScope, Usage
from gateway.models import LlmModel, Outcome
from gateway.providers import provider_client
from gateway.providers.base import Delta, ProviderError


def stream(
    messages: Messages,
    *,
    scope: CallScope,
    cache: CacheMode = "exact",
    **options: Unpack[CallOptions],
) -> Iterator[StreamEvent]:
    """Text as the model writes it: ``Delta`` events, then one ``Done`` or ``Failed``.

    Errors before the first token are retried and fall back like ``complete``; once text has
    reached the caller a failure cannot be undone, so it ends the stream with ``Failed`` carrying
    the partial text, and the ledger records the attempt as partial.
    """
    try:
        call = CallPipeline(messages, scope=scope, **options)
        call.admit()
        if cached := call.cache_get(cache):
            yield Delta(cached.text)
            yield Done(cached)
            return
        call.take_slot()
    except GatewayError as error:
        yield Failed(error, "")
        return
    yield from _stream_chain(call, cache)


def _stream_chain(call: CallPipeline, cache: CacheMode) -> Iterator[StreamEvent]:
    received: list[str] = []
    shown = 0  # characters passed on: text that could begin a leak waits (see LeakGuard)
    last_error: ProviderError | None = None
    model_row: LlmModel | None = None
    started = time.perf_counter()
    try:
        for model_row in call.usable():
            client = provider_client(model_row.provider)
            for attempt in range(settings.LLM_MAX_ATTEMPTS):
                started = time.perf_counter()
                try:
                    for event in client.stream(call.request(model_row, call.messages)):
                        if isinstance(event, Delta):
                            received.append(event.text)
                            if call.leak_guard is None:
                                yield event
                                continue
                            text = "".join(received)
                            leaked, safe = call.leak_guard.check(text)
                            if leaked:
                                yield Failed(call.leak_stopped(text), text[:shown])
                                return
                            if safe > shown:
                                yield Delta(text[shown:safe])
                                shown = safe
                            continue
                        completion = call.succeeded(model_row, event, started)
                        if call.leak_guard is not None:
                            if call.leaked(completion.text):
                                yield Failed(call.leak_stopped(completion.text), "")
                                return
                            if rest := "".join(received)[shown:]:
                                yield Delta(rest)
                        call.record.save(
                            outcome=call.record.attempts[-1].outcome, output=completion.text
                        )
                        call.cache_put(cache, completion)
                        yield Done(completion)
                        return
                except ProviderError as error:
                    last_error = error
                    if received:
                        yield _stream_broken(call, model_row, error, received, started)
                        return
                    call.record.attempt(
                        model_row,
                        started=started,
                        outcome=Outcome.FAILED,
                        error_kind=error.kind,
                        error=error.message,
                    )
                    try:
                        call._wait_or_give_up(model_row, attempt, error)
                    except ProviderError:
                        break
        last_error = last_error or ProviderError("unavailable", "no model", retryable=False)
        yield Failed(call.failed(last_error), "")
    except GeneratorExit:
        # The caller stopped listening (the user left); record what was produced so far.
        if model_row is not None and not call.record.saved:
            call.record.attempt(
                model_row,
                started=started,
                outcome=Outcome.CANCELLED,
                usage=Usage(call.input_estimate, len(received), estimated=True),
            )
            call.record.save(outcome=Outcome.CANCELLED, output="".join(received))
        raise


def _stream_broken(
    call: CallPipeline, model: LlmModel, error: ProviderError, received: list[str], started: float
) -> Failed:
    partial = "".join(received)
    # Streams carry about one token per chunk; the provider never sent its count.
    usage = Usage(call.input_estimate, len(received), estimated=True)
    call.record.attempt(
        model,
        started=started,
        outcome=Outcome.PARTIAL,
        usage=usage,
        error_kind=error.kind,
        error=error.message,
    )
    call.record.save(outcome=Outcome.PARTIAL, output=partial, error_kind=error.kind)
    broken = StreamBroken(f"the answer stopped half-way ({error.kind})", request_id=call.record.id)
    return Failed(broken, partial)


_END = object()


async def astream(messages: Messages, **options: Any) -> AsyncIterator[StreamEvent]:
    """``stream`` for async code (websocket consumers): provider I/O runs in a worker thread."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[object] = asyncio.Queue()
    stop = threading.Event()

    def produce() -> None:
        events = cast(Generator[StreamEvent, None, None], stream(messages, **options))
        try:
            for event in events:
                loop.call_soon_threadsafe(queue.put_nowait, event)
                if stop.is_set():
                    break
        finally:
            events.close()
            close_old_connections()
            loop.call_soon_threadsafe(queue.put_nowait, _END)

    worker = threading.Thread(target=produce, name="llm-stream", daemon=True)
    worker.start()
    try:
        while (event := await queue.get()) is not _END:
            yield event  # type: ignore[misc]
    finally:
        stop.set()
