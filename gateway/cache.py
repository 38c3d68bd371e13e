"""Answers the gateway can reuse instead of calling a model again.

Both caches are scoped: every key starts with the workspace, so an answer given in one workspace is
never served in another, even for an identical prompt.

- Exact: keyed by model, prompt version and the full input (messages, temperature, limits, schema);
  kept in Django's cache (process memory, or Redis when configured).
- Semantic: only where the caller allows it. The last user message is embedded by the NLU encoder
  and compared with earlier questions of the same scope (workspace, assistant, model, prompt
  version, knowledge-base version and everything else in the prompt); a hit needs a cosine
  similarity of at least ``SEMANTIC_THRESHOLD``, chosen for precision (see BENCHMARKS.md).
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import numpy as np
from django.conf import settings
from django.core.cache import cache
from django.db.models import Q
from django.utils import timezone

from gateway.models import SemanticCacheEntry
from nlu.store import encoder_load

SEMANTIC_THRESHOLD = 0.95
SEMANTIC_MAX_PER_SCOPE = 2000  # newest answers kept per scope
SEMANTIC_MAX_SCOPES = 256  # scopes whose vectors a process keeps in memory


@dataclass(frozen=True)
class CachedAnswer:
    text: str
    finish_reason: str
    model: str


@dataclass(frozen=True)
class CacheScope:
    workspace_id: int | None
    assistant_id: int | None
    model: str
    prompt_version_id: int | None
    kb_version: str


def _digest(payload: object) -> str:
    data = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.blake2b(data.encode(), digest_size=20).hexdigest()


def exact_key(scope: CacheScope, request: Mapping[str, Any]) -> str:
    return f"llm:exact:{scope.workspace_id}:{_digest([scope.__dict__, request])}"


def exact_get(key: str) -> CachedAnswer | None:
    found = cache.get(key)
    return CachedAnswer(**found) if found else None


def exact_put(key: str, answer: CachedAnswer) -> None:
    cache.set(key, answer.__dict__, timeout=settings.LLM_CACHE_TTL_S)


def semantic_scope(scope: CacheScope, messages: Sequence[Mapping[str, str]]) -> str:
    """Everything but the question itself: two prompts must agree on it to share answers."""
    return _digest([scope.__dict__, list(messages[:-1])])


class SemanticIndex:
    """Question embeddings per scope, kept in memory and topped up from the database.

    Bounded three ways: answers older than ``LLM_CACHE_TTL_S`` are misses (and deleted), a scope
    keeps its ``SEMANTIC_MAX_PER_SCOPE`` newest answers, and a process keeps the vectors of its
    ``SEMANTIC_MAX_SCOPES`` most recently used scopes.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._scopes: OrderedDict[str, tuple[int, np.ndarray, list[int]]] = OrderedDict()

    def clear(self) -> None:
        with self._lock:
            self._scopes.clear()

    def lookup(self, scope: str, question: str) -> CachedAnswer | None:
        vector = _embed(question)
        with self._lock:
            last_id, matrix, ids = self._scopes.pop(scope, (0, _EMPTY, []))
            if len(ids) > 2 * SEMANTIC_MAX_PER_SCOPE:  # mostly pruned rows: read afresh
                last_id, matrix, ids = 0, _EMPTY, []
            fresh = list(
                SemanticCacheEntry.objects.filter(scope=scope, id__gt=last_id)
                .order_by("id")
                .values_list("id", "embedding")
            )
            if fresh:
                rows = [np.frombuffer(bytes(blob), dtype=np.float32) for _, blob in fresh]
                matrix = np.vstack([matrix, *rows]) if len(matrix) else np.vstack(rows)
                ids = ids + [entry_id for entry_id, _ in fresh]
                last_id = fresh[-1][0]
            self._scopes[scope] = (last_id, matrix, ids)
            while len(self._scopes) > SEMANTIC_MAX_SCOPES:
                self._scopes.popitem(last=False)
        if not ids:
            return None
        scores = matrix @ vector
        best = int(np.argmax(scores))
        if float(scores[best]) < SEMANTIC_THRESHOLD:
            return None
        entry = SemanticCacheEntry.objects.filter(id=ids[best], scope=scope).first()
        if entry is None:
            return None
        if entry.created_at < timezone.now() - timedelta(seconds=settings.LLM_CACHE_TTL_S):
            entry.delete()
            return None
        return CachedAnswer(entry.answer, entry.finish_reason, model="")

    def put(self, scope: str, workspace_id: int, question: str, answer: CachedAnswer) -> None:
        SemanticCacheEntry.objects.create(
            scope=scope,
            workspace_id=workspace_id,
            question=question,
            embedding=_embed(question).astype(np.float32).tobytes(),
            answer=answer.text,
            finish_reason=answer.finish_reason,
        )
        rows = SemanticCacheEntry.objects.filter(scope=scope)
        stale = Q(created_at__lt=timezone.now() - timedelta(seconds=settings.LLM_CACHE_TTL_S))
        newest = rows.order_by("-id").values_list("id", flat=True)
        first_beyond_cap = next(
            iter(newest[SEMANTIC_MAX_PER_SCOPE : SEMANTIC_MAX_PER_SCOPE + 1]), None
        )
        if first_beyond_cap is not None:  # it and every older answer go
            stale |= Q(id__lte=first_beyond_cap)
        rows.filter(stale).delete()


_EMPTY = np.zeros((0, 384), np.float32)


def _embed(text: str) -> np.ndarray:
    return np.asarray(encoder_load().embed_one(text), dtype=np.float32)


semantic_index = SemanticIndex()
