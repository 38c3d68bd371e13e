"""TF-IDF features of character and word n-grams, in plain Python and numpy.

The intent classifier pairs the encoder's sentence vector with these surface features: the
encoder knows paraphrase, n-grams know the creator's exact vocabulary (product names, jargon,
typos seen in training). Written here rather than taken from scikit-learn so that serving one
utterance needs no scikit-learn and the fitted state is plain JSON and arrays.
"""

from __future__ import annotations

import itertools
import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence

import numpy as np
from scipy import sparse

WORD = re.compile(r"\w+")
CHAR_SIZES = (2, 3, 4, 5)


def char_ngrams(word: str) -> list[str]:
    padded = f" {word} "
    return [padded[i : i + size] for size in CHAR_SIZES for i in range(len(padded) - size + 1)]


def ngrams(text: str) -> list[str]:
    """Character n-grams inside each word (padded with spaces) and word uni- and bigrams."""
    words = WORD.findall(text.lower())
    grams: list[str] = []
    for word in words:
        grams.extend(char_ngrams(word))
    grams.extend(f"w:{word}" for word in words)
    grams.extend(f"w:{a} {b}" for a, b in itertools.pairwise(words))
    return grams


class NgramVectorizer:
    """Sublinear-tf, smoothed-idf, L2-normalised n-gram vectors over a fitted vocabulary."""

    WORD_CACHE_SIZE = 50_000

    def __init__(self, *, min_df: int = 2) -> None:
        self.min_df = min_df
        self.vocabulary: dict[str, int] = {}
        self.idf = np.zeros(0, dtype=np.float32)
        # A word's character n-grams are looked up once: utterances repeat their words a lot.
        self._word_columns: dict[str, list[int]] = {}

    def fit(self, texts: Sequence[str]) -> NgramVectorizer:
        document_frequency: Counter[str] = Counter()
        for text in texts:
            document_frequency.update(set(ngrams(text)))
        # Word features are kept even when seen once: one example of a rare word still counts.
        kept = sorted(
            gram
            for gram, count in document_frequency.items()
            if count >= self.min_df or gram.startswith("w:")
        )
        self.vocabulary = {gram: index for index, gram in enumerate(kept)}
        self._word_columns = {}
        documents = len(texts)
        self.idf = np.asarray(
            [math.log((1 + documents) / (1 + document_frequency[gram])) + 1 for gram in kept],
            dtype=np.float32,
        )
        return self

    def _columns_of_word(self, word: str) -> list[int]:
        columns = self._word_columns.get(word)
        if columns is None:
            lookup = self.vocabulary.get
            columns = [c for c in map(lookup, char_ngrams(word)) if c is not None]
            if len(self._word_columns) < self.WORD_CACHE_SIZE:
                self._word_columns[word] = columns
        return columns

    def features(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        """The vector of one text as (indices, values): what serving needs, no matrix built."""
        words = WORD.findall(text.lower())
        columns: list[int] = []
        for word in words:
            columns.extend(self._columns_of_word(word))
        lookup = self.vocabulary.get
        word_grams = [f"w:{word}" for word in words]
        word_grams.extend(f"w:{a} {b}" for a, b in itertools.pairwise(words))
        columns.extend(c for c in map(lookup, word_grams) if c is not None)
        if not columns:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        indices, tf = np.unique(np.asarray(columns, dtype=np.int64), return_counts=True)
        values = (1 + np.log(tf)) * self.idf[indices]
        return indices, (values / np.linalg.norm(values)).astype(np.float32)

    def transform(self, texts: Iterable[str]) -> sparse.csr_matrix:
        rows, columns, values = [], [], []
        count = 0
        for row, text in enumerate(texts):
            indices, weights = self.features(text)
            rows.append(np.full(len(indices), row))
            columns.append(indices)
            values.append(weights)
            count = row + 1
        if not rows:
            return sparse.csr_matrix((0, len(self.vocabulary)), dtype=np.float32)
        return sparse.csr_matrix(
            (np.concatenate(values), (np.concatenate(rows), np.concatenate(columns))),
            shape=(count, len(self.vocabulary)),
            dtype=np.float32,
        )

    def state(self) -> tuple[dict[str, object], dict[str, np.ndarray]]:
        """JSON-able settings and arrays, for saving without pickle."""
        return {"min_df": self.min_df, "vocabulary": self.vocabulary}, {"idf": self.idf}

    @classmethod
    def from_state(
        cls, config: dict[str, object], arrays: dict[str, np.ndarray]
    ) -> NgramVectorizer:
        vectorizer = cls(min_df=int(config["min_df"]))  # type: ignore[call-overload]
        vectorizer.vocabulary = dict(config["vocabulary"])  # type: ignore[call-overload]
        vectorizer.idf = arrays["idf"]
        return vectorizer
