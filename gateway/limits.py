"""Per-assistant rate limits (requests and tokens per minute) and monthly budgets.

The limiter keeps a sliding one-minute window. Without Redis it lives in the process; with
``REDIS_URL`` one Lua script admits or refuses atomically, so several processes share the window
and the count stays exact under any concurrency.
"""

from __future__ import annotations

import functools
import threading
import time
import uuid
from collections import deque
from datetime import datetime
from decimal import Decimal
from typing import Protocol

from django.conf import settings
from django.db.models import Sum
from django.utils import timezone

from gateway.models import Attempt

WINDOW_S = 60.0


class Limiter(Protocol):
    def admit(
        self, key: str, *, requests: int | None, tokens: int | None, cost_tokens: int
    ) -> float | None:
        """Take a slot; None when admitted, else the seconds until one frees up."""
        ...

    def spend(self, key: str, tokens: int) -> None:
        """Add tokens learnt after the call (the answer's) to the current window."""
        ...

    def clear(self) -> None: ...


class MemoryLimiter:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._requests: dict[str, deque[float]] = {}
        self._tokens: dict[str, deque[tuple[float, int]]] = {}
        self._token_totals: dict[str, int] = {}  # the sum over each window, kept as it slides

    def admit(
        self, key: str, *, requests: int | None, tokens: int | None, cost_tokens: int
    ) -> float | None:
        now = time.monotonic()
        with self._lock:
            sent = self._requests.setdefault(key, deque())
            used = self._tokens.setdefault(key, deque())
            while sent and sent[0] <= now - WINDOW_S:
                sent.popleft()
            while used and used[0][0] <= now - WINDOW_S:
                self._token_totals[key] -= used.popleft()[1]
            if requests is not None and len(sent) >= requests:
                return sent[0] + WINDOW_S - now
            total = self._token_totals.get(key, 0)
            if tokens is not None and used and total + cost_tokens > tokens:
                return used[0][0] + WINDOW_S - now
            sent.append(now)
            self._add(key, now, cost_tokens)
            return None

    def spend(self, key: str, tokens: int) -> None:
        with self._lock:
            self._add(key, time.monotonic(), tokens)

    def _add(self, key: str, now: float, tokens: int) -> None:
        self._tokens.setdefault(key, deque()).append((now, tokens))
        self._token_totals[key] = self._token_totals.get(key, 0) + tokens

    def clear(self) -> None:
        with self._lock:
            self._requests.clear()
            self._tokens.clear()
            self._token_totals.clear()


# KEYS: requests zset, tokens zset. ARGV: request limit (-1: none), token limit, cost, member id.
# Token members are "id:count" so the sum needs no second structure. Redis's clock is the one clock.
_ADMIT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local window = 60000
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - window)
local max_requests = tonumber(ARGV[1])
local max_tokens = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
if max_requests >= 0 and redis.call('ZCARD', KEYS[1]) >= max_requests then
  local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  return tostring((tonumber(oldest[2]) + window - now) / 1000)
end
if max_tokens >= 0 then
  local used = 0
  local members = redis.call('ZRANGE', KEYS[2], 0, -1)
  for _, member in ipairs(members) do
    used = used + tonumber(string.match(member, ':(%d+)$'))
  end
  if #members > 0 and used + cost > max_tokens then
    local oldest = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')
    return tostring((tonumber(oldest[2]) + window - now) / 1000)
  end
end
redis.call('ZADD', KEYS[1], now, ARGV[4])
redis.call('ZADD', KEYS[2], now, ARGV[4] .. ':' .. cost)
redis.call('PEXPIRE', KEYS[1], window)
redis.call('PEXPIRE', KEYS[2], window)
return false
"""

_SPEND = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZADD', KEYS[1], now, ARGV[1] .. ':' .. ARGV[2])
redis.call('PEXPIRE', KEYS[1], 60000)
"""


class RedisLimiter:
    def __init__(self, url: str) -> None:
        import redis

        self._redis = redis.Redis.from_url(url)
        self._admit = self._redis.register_script(_ADMIT)
        self._spend = self._redis.register_script(_SPEND)

    def admit(
        self, key: str, *, requests: int | None, tokens: int | None, cost_tokens: int
    ) -> float | None:
        wait = self._admit(
            keys=[f"parley:llm-rate:{key}:requests", f"parley:llm-rate:{key}:tokens"],
            args=[
                -1 if requests is None else requests,
                -1 if tokens is None else tokens,
                cost_tokens,
                uuid.uuid4().hex,
            ],
        )
        return None if wait is None else float(wait)

    def spend(self, key: str, tokens: int) -> None:
        self._spend(keys=[f"parley:llm-rate:{key}:tokens"], args=[uuid.uuid4().hex, tokens])

    def clear(self) -> None:
        for key in self._redis.scan_iter("parley:llm-rate:*"):
            self._redis.delete(key)


@functools.cache
def limiter() -> Limiter:
    """The process's limiter: shared through Redis when ``REDIS_URL`` is set."""
    if settings.REDIS_URL:
        return RedisLimiter(settings.REDIS_URL)
    return MemoryLimiter()


def month_start(now: datetime | None = None) -> datetime:
    now = now or timezone.now()
    return now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def month_spent(assistant_id: int) -> Decimal:
    """Dollars this assistant's LLM attempts cost since the first of the month (known costs)."""
    spent = Attempt.objects.filter(
        assistant_id=assistant_id, created_at__gte=month_start()
    ).aggregate(total=Sum("cost"))["total"]
    return spent or Decimal(0)
