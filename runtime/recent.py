"""A small in-process memory of recent values, for reads that every new chat would repeat.

Each entry is trusted for ``ttl_s`` seconds; at most ``kept`` are held, the oldest going first.
Threads may share one (the event loop reads, the database thread writes): a lost race only costs
a read from the database.
"""

from __future__ import annotations

import time
from collections.abc import Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class Recent(Generic[K, V]):
    def __init__(self, *, ttl_s: float, kept: int) -> None:
        self.ttl_s = ttl_s
        self.kept = kept
        self._entries: dict[K, tuple[float, V]] = {}

    def get(self, key: K) -> V | None:
        """The value if it was put less than ``ttl_s`` seconds ago."""
        entry = self._entries.get(key)
        if entry is None or time.monotonic() - entry[0] >= self.ttl_s:
            return None
        return entry[1]

    def put(self, key: K, value: V) -> V:
        if len(self._entries) >= self.kept:
            for oldest in list(self._entries)[:1]:  # another thread may have dropped it
                self._entries.pop(oldest, None)
        self._entries[key] = (time.monotonic(), value)
        return value

    def forget(self, key: K) -> None:
        self._entries.pop(key, None)
