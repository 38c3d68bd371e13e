"""The one door to every LLM call: ``complete``, ``stream``, ``astream`` and ``structured``.

Each call goes through the same steps: check the prompt (size, context window), check user text for
prompt injection, try the caches, take a rate-limit slot and check the monthly budget, then walk the
model's fallback chain — retrying each model with backoff on 429s, 5xx and timeouts and cooling it
down when it keeps failing — and record every attempt in the ledger, failed ones included.
"""

from gateway.calls.pipeline import CallPipeline, complete, structured
from gateway.calls.prompts import prompt_call
from gateway.calls.results import (
    CacheMode,
    CallOptions,
    Completion,
    Done,
    Failed,
    Messages,
    StreamEvent,
    Structured,
)
from gateway.calls.streaming import astream, stream
from gateway.ledger import CallScope
from gateway.providers.base import Delta

__all__ = [
    "CacheMode",
    "CallOptions",
    "CallPipeline",
    "CallScope",
    "Completion",
    "Delta",
    "Done",
    "Failed",
    "Messages",
    "StreamEvent",
    "Structured",
    "astream",
    "complete",
    "prompt_call",
    "stream",
    "structured",
]
