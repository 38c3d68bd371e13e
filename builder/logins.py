"""Failed logins are counted, per account and address and per address alone; past the limit,
logins from there are refused for the rest of the window, even with the right password. Pages and
the API token endpoint share the counts (in the cache: Redis when configured, so every worker
sees them). Counting per account *and* address keeps an attacker from locking a person out of
their own account from elsewhere."""

from __future__ import annotations

import hashlib
from typing import Any

from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.core.cache import cache
from django.dispatch import receiver
from django.http import HttpRequest

WINDOW_S = 15 * 60
PER_ACCOUNT = 5  # failures per account from one address in a window
PER_ADDRESS = 30  # failures from one address in a window, whatever the accounts

REFUSED = "Too many failed logins from here; try again in 15 minutes."


def _address(request: HttpRequest | None) -> str:
    return (request.META.get("REMOTE_ADDR") if request is not None else None) or "unknown"


def _keys(request: HttpRequest | None, username: str) -> tuple[str, str]:
    address = _address(request)
    account = hashlib.sha256(username.strip().lower().encode()).hexdigest()[:32]
    return f"login-failures:{account}:{address}", f"login-failures:{address}"


def login_refused(request: HttpRequest | None, username: str) -> bool:
    """Whether logins to ``username`` from this request's address are refused for now."""
    per_account, per_address = _keys(request, username)
    counts = cache.get_many([per_account, per_address])
    return counts.get(per_account, 0) >= PER_ACCOUNT or counts.get(per_address, 0) >= PER_ADDRESS


@receiver(user_login_failed)
def _count_failure(
    sender: Any, credentials: dict[str, Any], request: HttpRequest | None = None, **kwargs: Any
) -> None:
    for key in _keys(request, str(credentials.get("username", ""))):
        cache.add(key, 0, timeout=WINDOW_S)  # the window starts at the first failure
        try:
            cache.incr(key)
        except ValueError:  # expired between the two calls
            cache.set(key, 1, timeout=WINDOW_S)


@receiver(user_logged_in)
def _forget_failures(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    cache.delete(_keys(request, user.get_username())[0])
