"""Hybrid search over a knowledge base's chunks: BM25 (bm25s) and the encoder's vectors, fused.

The index is plain numpy: a chunk matrix of unit vectors (a dot product is the cosine) and a
bm25s sparse index over stemmed words without stop words. ``hybrid`` fuses the two rankings with
reciprocal rank fusion or a weighted sum of normalised scores; ``relevance`` (the dense cosine)
is the absolute figure a knowledge base's minimum score is compared with, because fused scores
mean nothing across questions.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Literal

import bm25s
import numpy as np
import Stemmer
from bm25s import stopwords

Mode = Literal["bm25", "dense", "hybrid"]
Fusion = Literal["rrf", "weighted"]
MODES: tuple[Mode, ...] = ("bm25", "dense", "hybrid")
RRF_K = 60
CANDIDATES = 50  # from each ranking, before fusion
DENSE_WEIGHT = 0.7  # weighted fusion: the dense cosine's share (measured: BENCHMARKS.md)

_LANGUAGES = {
    "en": ("english", stopwords.STOPWORDS_EN),
    "fr": ("french", stopwords.STOPWORDS_FRENCH),
    "de": ("german", stopwords.STOPWORDS_GERMAN),
    "es": ("spanish", stopwords.STOPWORDS_SPANISH),
    "it": ("italian", stopwords.STOPWORDS_ITALIAN),
    "pt": ("portuguese", stopwords.STOPWORDS_PORTUGUESE),
    "nl": ("dutch", stopwords.STOPWORDS_DUTCH),
}
_WORD = re.compile(r"\w\w+|\d")


class Words:
    """Lower-cased, stemmed words without stop words: what BM25 indexes and matches."""

    def __init__(self, language: str = "en") -> None:
        name, stop = _LANGUAGES.get(language, _LANGUAGES["en"])
        self.stemmer = Stemmer.Stemmer(name)
        self.stop = frozenset(stop)

    def __call__(self, text: str) -> list[str]:
        words = [w for w in _WORD.findall(text.lower()) if w not in self.stop]
        return list(self.stemmer.stemWords(words))


@cache
def words_for(language: str) -> Words:
    return Words(language)


@dataclass(frozen=True)
class Hit:
    row: int
    score: float  # what the mode ranked by
    relevance: float  # the dense cosine of question and chunk, comparable across questions
    bm25: float


class SearchIndex:
    def __init__(self, texts: Sequence[str], vectors: np.ndarray, *, language: str = "en") -> None:
        if len(texts) != len(vectors):
            raise ValueError("one vector per text")
        self.words = words_for(language)
        self.size = len(texts)
        self.vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        self.bm25 = bm25s.BM25()
        if self.size:
            tokens = [self.words(text) or ["_"] for text in texts]
            self.bm25.index(tokens, show_progress=False)

    def search(
        self,
        query: str,
        vector: np.ndarray,
        *,
        k: int = 5,
        mode: Mode = "hybrid",
        fusion: Fusion = "rrf",
        allowed: np.ndarray | None = None,
    ) -> list[Hit]:
        """The best ``k`` chunks; ``allowed`` is a boolean mask of the rows that may be returned."""
        if not self.size or k <= 0:
            return []
        dense = self.vectors @ np.asarray(vector, dtype=np.float32)
        query_words = self.words(query)
        lexical = (
            self.bm25.get_scores(query_words).astype(np.float32)
            if query_words
            else np.zeros(self.size, dtype=np.float32)
        )
        if allowed is not None:
            dense = np.where(allowed, dense, -np.inf)
            lexical = np.where(allowed, lexical, -np.inf)
        if mode == "dense":
            rows, scores = _top(dense, k)
        elif mode == "bm25":
            rows, scores = _top(lexical, k, positive=True)
        elif fusion == "weighted":
            rows, scores = _weighted(dense, lexical, k)
        else:
            rows, scores = _rrf(dense, lexical, k)
        return [
            Hit(int(row), float(score), float(dense[row]), float(max(lexical[row], 0.0)))
            for row, score in zip(rows, scores, strict=True)
        ]


def _top(scores: np.ndarray, k: int, *, positive: bool = False) -> tuple[np.ndarray, np.ndarray]:
    k = min(k, len(scores))
    rows = np.argpartition(-scores, k - 1)[:k]
    rows = rows[np.argsort(-scores[rows], kind="stable")]
    keep = np.isfinite(scores[rows]) & ((scores[rows] > 0) if positive else True)
    rows = rows[keep]
    return rows, scores[rows]


def _rrf(dense: np.ndarray, lexical: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    fused: dict[int, float] = {}
    for rows, _ in (_top(dense, CANDIDATES), _top(lexical, CANDIDATES, positive=True)):
        for rank, row in enumerate(rows):
            fused[int(row)] = fused.get(int(row), 0.0) + 1.0 / (RRF_K + rank + 1)
    best = sorted(fused.items(), key=lambda item: -item[1])[:k]
    return np.asarray([r for r, _ in best], dtype=np.int64), np.asarray([s for _, s in best])


def _weighted(dense: np.ndarray, lexical: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    candidates = np.union1d(_top(dense, CANDIDATES)[0], _top(lexical, CANDIDATES, positive=True)[0])
    top_lexical = float(np.max(lexical[candidates])) if len(candidates) else 0.0
    lexical_part = lexical[candidates] / top_lexical if top_lexical > 0 else 0.0
    scores = DENSE_WEIGHT * dense[candidates] + (1 - DENSE_WEIGHT) * np.maximum(lexical_part, 0.0)
    order = np.argsort(-scores, kind="stable")[:k]
    return candidates[order], scores[order]
