"""Chunks stay under their size, never cross a heading, and overlap by whole sentences."""

from __future__ import annotations

import itertools

from knowledge.chunking import chunk, indexed_text
from knowledge.parsing import Parsed, Section


def words(texts):
    return [len(text.split()) for text in texts]  # one token per word, for readable tests


def sentence(n: int) -> str:
    return " ".join(f"w{n}x{i}" for i in range(9)) + "."  # 10 "tokens" with the last word


def test_short_blocks_under_one_heading_are_packed_into_one_chunk():
    parsed = Parsed("Guide", [Section(("Setup",), ["First step.", "Second step."])])

    (piece,) = chunk(parsed, words, size=50, overlap=0)

    assert piece.heading == "Setup"
    assert piece.text == "First step.\nSecond step."


def test_a_chunk_never_spans_two_headings():
    parsed = Parsed(
        "Guide", [Section(("A",), ["Alpha text."]), Section(("A", "B"), ["Beta text."])]
    )

    pieces = chunk(parsed, words, size=50, overlap=0)

    assert [(p.heading, p.text) for p in pieces] == [("A", "Alpha text."), ("A › B", "Beta text.")]


def test_a_long_block_is_cut_at_sentences_within_the_size_with_overlap():
    block = " ".join(sentence(n) for n in range(10))  # 100 tokens
    parsed = Parsed("Guide", [Section(("Long",), [block])])

    pieces = chunk(parsed, words, size=30, overlap=10)

    assert all(p.tokens <= 30 for p in pieces)
    for before, after in itertools.pairwise(pieces):
        last_sentence = before.text.split(". ")[-1]
        assert after.text.startswith(last_sentence.rstrip(".")), "neighbours share a sentence"
    every = " ".join(p.text for p in pieces)
    assert all(sentence(n) in every for n in range(10)), "nothing is lost"


def test_a_sentence_longer_than_the_size_is_cut_at_words():
    parsed = Parsed("Guide", [Section((), [" ".join(f"w{i}" for i in range(100))])])

    pieces = chunk(parsed, words, size=32, overlap=0)

    assert len(pieces) >= 4
    assert all(p.tokens <= 32 for p in pieces)
    assert " ".join(p.text for p in pieces).split() == [f"w{i}" for i in range(100)]


def test_atomic_entries_are_never_packed_together():
    parsed = Parsed("FAQ", [Section((), ["q: a?\nanswer: b"], atomic=True)] * 3)

    assert len(chunk(parsed, words, size=200)) == 3


def test_the_indexed_text_carries_the_title_and_headings():
    assert indexed_text("Sweep S5", "Charging", "Dock it.") == "Sweep S5 › Charging\nDock it."
    assert indexed_text("", "", "Dock it.") == "Dock it."
    assert (
        indexed_text("Sweep S5", "Sweep S5 › Charging", "Dock it.")
        == "Sweep S5 › Charging\nDock it."
    )
