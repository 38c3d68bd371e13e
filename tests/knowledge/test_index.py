"""BM25 finds the words, the encoder finds the meaning, and hybrid finds both."""

from __future__ import annotations

import numpy as np
import pytest

from knowledge.index import SearchIndex
from nlu.store import encoder_load

TEXTS = [
    "Error E42 means the dock's charging contacts are dirty; wipe them with a dry cloth.",
    "The vacuum's battery lasts up to 150 minutes on one charge in eco mode.",
    "Returns are accepted within 45 days of delivery for unopened items.",
    "Our shop in Leeds opens at 9am from Monday to Saturday.",
]


@pytest.fixture(scope="module")
def index() -> SearchIndex:
    encoder = encoder_load()
    return SearchIndex(TEXTS, encoder.embed(TEXTS))


def search(index: SearchIndex, question: str, **options):
    return index.search(question, encoder_load().embed_one(question), **options)


def test_bm25_finds_a_rare_code_word_for_word(index):
    (best, *_) = search(index, "what does E42 mean", mode="bm25", k=2)

    assert best.row == 0
    assert best.bm25 > 0


def test_dense_finds_a_paraphrase_without_shared_words(index):
    (best, *_) = search(index, "how long can it clean before it needs power again", mode="dense")

    assert best.row == 1


def test_hybrid_ranks_by_both_and_reports_the_cosine_as_relevance(index):
    for fusion in ("rrf", "weighted"):
        hits = search(index, "can I send back an item I never opened", mode="hybrid", fusion=fusion)
        assert hits[0].row == 2
        assert -1 <= hits[0].relevance <= 1
        assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)


def test_a_mask_limits_the_rows_that_may_come_back(index):
    allowed = np.array([False, False, False, True])

    hits = search(index, "what does E42 mean", allowed=allowed, k=4)

    assert {hit.row for hit in hits} == {3}


def test_an_empty_index_and_a_question_of_stop_words_return_cleanly(index):
    empty = SearchIndex([], np.zeros((0, 384), dtype=np.float32))
    assert search(empty, "anything") == []
    assert len(search(index, "the of and", k=2, mode="hybrid")) == 2  # dense still ranks
    assert search(index, "the of and", k=2, mode="bm25") == []
