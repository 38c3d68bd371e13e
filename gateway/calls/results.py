"""What a call takes (its options) and gives back (a completion, a structured value, or the
events of a stream)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Generic, Literal, TypedDict

from gateway.errors import (
    GatewayError,
)
from gateway.models import LlmModel
from gateway.providers.base import Delta
from gateway.structured import Schema

CacheMode = Literal["off", "exact", "semantic"]
Messages = Sequence[Mapping[str, str]]


class CallOptions(TypedDict, total=False):
    """How to call: every public call takes these (defaults in ``CallPipeline``)."""

    model: LlmModel | str | None  # default: the assistant's model, else the instance's
    temperature: float
    max_tokens: int
    untrusted: Sequence[str] | None  # end-user text in the prompt (default: last user message)
    confidential: str | None  # instructions a reply must not repeat (see guards.LeakGuard)
    first_token_timeout: float | None
    total_timeout: float | None


@dataclass(frozen=True)
class Completion:
    request_id: str
    text: str
    model: str  # catalogue key of the model that answered
    finish_reason: str  # stop, length, refusal…
    input_tokens: int
    output_tokens: int
    cost: Decimal | None  # None: a price is unknown
    cached: bool
    attempts: int


@dataclass(frozen=True)
class Structured(Generic[Schema]):
    value: Schema
    completion: Completion


@dataclass(frozen=True)
class Done:
    completion: Completion


@dataclass(frozen=True)
class Failed:
    error: GatewayError
    partial_text: str


StreamEvent = Delta | Done | Failed
