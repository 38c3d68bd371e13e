"""When to try again, how long to wait, and which models are cooling down."""

from __future__ import annotations

import random
import threading
import time

from django.conf import settings

from gateway.providers.base import ProviderError

_cooldowns: dict[str, float] = {}
_lock = threading.Lock()


def backoff_s(attempt: int, error: ProviderError) -> float:
    """Exponential backoff with full jitter; the provider's Retry-After wins when it says more."""
    ceiling = min(settings.LLM_BACKOFF_CAP_S, settings.LLM_BACKOFF_BASE_S * 2**attempt)
    wait = random.uniform(0, ceiling)  # noqa: S311 - jitter, not security
    if error.retry_after is not None:
        wait = max(wait, error.retry_after)
    return wait


def cooldown_start(model_key: str, seconds: float) -> None:
    """Send calls straight to the fallback while this model is known to be failing."""
    with _lock:
        _cooldowns[model_key] = max(_cooldowns.get(model_key, 0.0), time.monotonic() + seconds)


def cooling_down(model_key: str) -> bool:
    until = _cooldowns.get(model_key)
    return until is not None and until > time.monotonic()


def cooldowns_clear() -> None:
    with _lock:
        _cooldowns.clear()
