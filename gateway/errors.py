"""Typed errors a gateway caller can turn into a polite reply.

``kind`` is stable and machine-readable (the ledger and the runtime use it); the message says
what went wrong in words a creator understands.
"""

from __future__ import annotations


class GatewayError(Exception):
    kind = "gateway_error"

    def __init__(self, message: str, *, request_id: str | None = None) -> None:
        super().__init__(message)
        self.request_id = request_id


class PromptInvalid(GatewayError):
    """The prompt is too large for the model, or a required variable is missing."""

    kind = "prompt_invalid"


class RateLimited(GatewayError):
    """The assistant went over its requests or tokens per minute."""

    kind = "rate_limited"

    def __init__(self, message: str, *, retry_after: float, request_id: str | None = None) -> None:
        super().__init__(message, request_id=request_id)
        self.retry_after = retry_after


class BudgetExceeded(GatewayError):
    """The assistant spent its monthly LLM budget."""

    kind = "budget_exceeded"


class InjectionSuspected(GatewayError):
    """User text looks like an attempt to override the prompt's instructions."""

    kind = "injection"


class ProviderFailed(GatewayError):
    """Every model in the fallback chain failed; ``last_kind`` says how the last one did."""

    kind = "provider_failed"

    def __init__(self, message: str, *, last_kind: str, request_id: str | None = None) -> None:
        super().__init__(message, request_id=request_id)
        self.last_kind = last_kind


class StreamBroken(GatewayError):
    """A stream stopped half-way; the text received so far is not the whole answer."""

    kind = "stream_broken"


class Truncated(GatewayError):
    """The model hit its token limit before finishing; ``partial_text`` is what it wrote, for a
    caller that can use the complete part of it (see ``structured.complete_items``)."""

    kind = "truncated"

    def __init__(
        self, message: str, *, partial_text: str = "", request_id: str | None = None
    ) -> None:
        super().__init__(message, request_id=request_id)
        self.partial_text = partial_text


class Refused(GatewayError):
    """The model declined to answer."""

    kind = "refused"


class OutputInvalid(GatewayError):
    """Structured output still failed validation after repair, re-asks and fallbacks."""

    kind = "invalid_output"

    def __init__(self, message: str, *, errors: list[str], request_id: str | None = None) -> None:
        super().__init__(message, request_id=request_id)
        self.errors = errors


class OutputBlocked(GatewayError):
    """The reply repeated the assistant's instructions (its system prompt); it was stopped."""

    kind = "leak"
