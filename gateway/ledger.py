"""Recording a gateway call: one ``Call`` with the chain, one ``Attempt`` row per request sent.

Everything text-like passes PII redaction before it is written. By default the rows are written
behind the caller's back: a thread takes finished calls from a queue and inserts them in batches,
so a call does not wait for the database (``LLM_LEDGER_WRITE_BEHIND``; flushed at exit).
"""

from __future__ import annotations

import atexit
import logging
import queue
import threading
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import close_old_connections, transaction

from gateway.guards import pii_redact, pii_redact_value
from gateway.models import Attempt, Call, LlmModel, Outcome
from gateway.prompts import tokens_estimate
from gateway.providers.base import ProviderResult


@dataclass(frozen=True)
class CallScope:
    """Who is calling and why: the ledger, limits and caches are all keyed by it."""

    purpose: str
    workspace_id: int | None = None
    assistant_id: int | None = None
    prompt_version_id: int | None = None
    kb_version: str = ""
    inputs: Mapping[str, object] = field(default_factory=dict)  # prompt variables, for the log


@dataclass(frozen=True)
class Usage:
    input_tokens: int
    output_tokens: int
    estimated: bool


def usage_checked(result: ProviderResult, messages: Sequence[Mapping[str, str]]) -> Usage:
    """The provider's token counts when they are plausible, else our own estimate.

    A token is at least one character (bar a few special tokens), so counts above the text's
    length, below zero, or zero for a non-empty answer are wrong.
    """
    prompt_chars = sum(len(message["content"]) for message in messages)
    estimate = Usage(
        sum(tokens_estimate(message["content"]) for message in messages),
        tokens_estimate(result.text) if result.text else 0,
        estimated=True,
    )
    reported_in, reported_out = result.input_tokens, result.output_tokens
    if reported_in is None or reported_out is None:
        return estimate
    plausible_in = 0 < reported_in <= prompt_chars + 16 * len(messages) + 64
    plausible_out = (
        (0 < reported_out <= len(result.text) + 16) if result.text else reported_out >= 0
    )
    if not (plausible_in and plausible_out):
        return estimate
    return Usage(reported_in, reported_out, estimated=False)


class CallRecord:
    """What one gateway call did, written to the ledger once the call is over."""

    def __init__(self, scope: CallScope, messages: Sequence[Mapping[str, str]]) -> None:
        self.id = str(uuid.uuid4())
        self.scope = scope
        self.messages = list(messages)
        self.guards: dict[str, Any] = {}
        self.attempts: list[Attempt] = []
        self.saved = False

    def attempt(
        self,
        model: LlmModel,
        *,
        started: float,
        outcome: str,
        usage: Usage | None = None,
        first_token_s: float | None = None,
        error_kind: str = "",
        error: str = "",
        cache_hit: bool = False,
    ) -> Attempt:
        usage = usage or Usage(0, 0, estimated=False)
        row = Attempt(
            number=len(self.attempts) + 1,
            workspace_id=self.scope.workspace_id,
            assistant_id=self.scope.assistant_id,
            purpose=self.scope.purpose,
            prompt_version_id=self.scope.prompt_version_id,
            provider="cache" if cache_hit else model.provider.key,
            model=model.key,
            input_tokens=usage.input_tokens,
            output_tokens=usage.output_tokens,
            usage_estimated=usage.estimated,
            cost=Decimal(0) if cache_hit else model.cost(usage.input_tokens, usage.output_tokens),
            first_token_ms=None if first_token_s is None else first_token_s * 1000,
            total_ms=(time.perf_counter() - started) * 1000,
            cache_hit=cache_hit,
            outcome=outcome,
            error_kind=error_kind,
            error=error,
        )
        self.attempts.append(row)
        return row

    def save(self, *, outcome: str, output: str = "", error_kind: str = "") -> None:
        """Record the call and its attempts (once; later calls do nothing)."""
        if self.saved:
            return
        self.saved = True
        finished = FinishedCall(self, outcome, output, error_kind)
        if settings.LLM_LEDGER_WRITE_BEHIND:
            ledger_writer.submit(finished)
        else:
            _write([finished])

    def blocked(self, error_kind: str) -> None:
        self.save(outcome=Outcome.BLOCKED, error_kind=error_kind)


@dataclass(frozen=True)
class FinishedCall:
    record: CallRecord
    outcome: str
    output: str
    error_kind: str

    def rows(self) -> tuple[Call, list[Attempt]]:
        """The ledger rows, PII redacted (done here, off the caller's path when written behind)."""
        record = self.record
        call = Call(
            id=record.id,
            workspace_id=record.scope.workspace_id,
            assistant_id=record.scope.assistant_id,
            purpose=record.scope.purpose,
            prompt_version_id=record.scope.prompt_version_id,
            inputs=pii_redact_value(dict(record.scope.inputs)),
            messages=pii_redact_value(record.messages),
            output=pii_redact(self.output),
            outcome=self.outcome,
            error_kind=self.error_kind,
            guards=record.guards,
        )
        for attempt in record.attempts:
            attempt.call = call
            attempt.error = pii_redact(attempt.error)[:500]
        return call, record.attempts


def _write(batch: list[FinishedCall]) -> None:
    rows = [finished.rows() for finished in batch]
    with transaction.atomic():
        Call.objects.bulk_create([call for call, _ in rows])
        Attempt.objects.bulk_create([attempt for _, attempts in rows for attempt in attempts])


logger = logging.getLogger(__name__)


class LedgerWriter:
    """Inserts finished calls in batches on a background thread, off the callers' path."""

    BATCH = 500
    GATHER_S = 0.2  # one insert per this much traffic: far cheaper per row than one per call

    def __init__(self) -> None:
        self._queue: queue.Queue[FinishedCall] = queue.Queue()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def submit(self, finished: FinishedCall) -> None:
        if self._thread is None or not self._thread.is_alive():
            with self._lock:
                if self._thread is None or not self._thread.is_alive():
                    self._thread = threading.Thread(
                        target=self._run, name="llm-ledger", daemon=True
                    )
                    self._thread.start()
        self._queue.put(finished)

    def flush(self) -> None:
        """Return once everything submitted so far is in the database."""
        self._queue.join()

    def _run(self) -> None:
        while True:
            batch = [self._queue.get()]
            time.sleep(self.GATHER_S)  # let calls pile up without waking this thread for each
            while len(batch) < self.BATCH:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            try:
                self._write_batch(batch)
            finally:
                for _ in batch:
                    self._queue.task_done()
                close_old_connections()

    @staticmethod
    def _write_batch(batch: list[FinishedCall]) -> None:
        try:
            _write(batch)
        except Exception:
            # One bad row (say, its assistant was deleted meanwhile) must not lose the others.
            for item in batch:
                try:
                    _write([item])
                except Exception:
                    logger.exception("could not record LLM call %s", item.record.id)


ledger_writer = LedgerWriter()
atexit.register(ledger_writer.flush)


def ledger_flush() -> None:
    """Wait until every recorded call is written (tests, benchmarks, shutdown)."""
    ledger_writer.flush()
