"""What the gateway asks of a provider, and what a provider answers."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True)
class ProviderRequest:
    model: str  # the provider's own model name
    messages: list[dict[str, str]]
    temperature: float
    max_tokens: int
    first_token_timeout: float
    total_timeout: float
    json_schema: dict[str, Any] | None = None  # strict structured output
    json_mode: bool = False  # any JSON object (the schema rides in the prompt)


@dataclass
class ProviderResult:
    text: str
    finish_reason: str
    refusal: str = ""
    input_tokens: int | None = None  # as the provider reported them
    output_tokens: int | None = None
    first_token_s: float | None = None


@dataclass(frozen=True)
class Delta:
    text: str


@dataclass
class ProviderError(Exception):
    """A failed request; ``kind`` drives retries, cooldowns and the ledger's error column."""

    kind: str  # rate_limited, server_error, timeout, first_token_timeout, connection, ...
    message: str
    retryable: bool
    retry_after: float | None = None
    status: int | None = None
    partial: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        return f"{self.kind}: {self.message}"


class ProviderClient(Protocol):
    def complete(self, request: ProviderRequest) -> ProviderResult: ...

    def stream(self, request: ProviderRequest) -> Iterator[Delta | ProviderResult]:
        """Deltas as they come, then one final ``ProviderResult``; raises ``ProviderError``."""
        ...
