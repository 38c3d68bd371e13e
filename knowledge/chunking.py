"""Sections of a document into chunks of about ``size`` encoder tokens.

Blocks under one heading are packed together until the next would pass the size; a block that is
too long on its own is cut at sentences, and a sentence that is too long at words. Consecutive
chunks of one section share up to ``overlap`` tokens of whole sentences, so a fact at a border is
whole in one of them. A chunk never spans two headings; an atomic section (a CSV row) is a chunk
of its own. Each chunk keeps its heading path, which is embedded and indexed with it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from knowledge.parsing import Parsed

DEFAULT_SIZE = 160
DEFAULT_OVERLAP = 32
HEADING_SEPARATOR = " › "

_SENTENCE_END = re.compile(r"(?<=[.!?;:])\s+(?=\S)|\n+")

Count = Callable[[Sequence[str]], list[int]]  # encoder tokens of each text


@dataclass(frozen=True)
class Piece:
    heading: str
    text: str
    tokens: int


def indexed_text(title: str, heading: str, text: str) -> str:
    """What is embedded and indexed for a chunk: its text under its document title and headings."""
    if heading == title or heading.startswith(title + HEADING_SEPARATOR):
        title = ""  # the document's first heading is usually its title
    head = HEADING_SEPARATOR.join(part for part in (title, heading) if part)
    return f"{head}\n{text}" if head else text


def chunk(
    parsed: Parsed, count: Count, *, size: int = DEFAULT_SIZE, overlap: int = DEFAULT_OVERLAP
) -> list[Piece]:
    if size < 16:
        raise ValueError("chunk size must be at least 16 tokens")
    overlap = max(0, min(overlap, size // 2))
    pieces: list[Piece] = []
    for section in parsed.sections:
        heading = HEADING_SEPARATOR.join(section.heading)
        units = _units(section.blocks, count, size)
        pieces.extend(_pack(units, heading, size, 0 if section.atomic else overlap))
    return pieces


@dataclass(frozen=True)
class _Unit:
    text: str
    tokens: int
    starts_block: bool


def _units(blocks: Sequence[str], count: Count, size: int) -> list[_Unit]:
    """Blocks that fit whole; longer ones as sentences, and over-long sentences as word runs."""
    blocks = [block.strip() for block in blocks if block.strip()]
    units: list[_Unit] = []
    for block, tokens in zip(blocks, count(blocks), strict=True):
        if tokens <= size:
            units.append(_Unit(block, tokens, True))
            continue
        sentences = [s.strip() for s in _SENTENCE_END.split(block) if s.strip()]
        first = True
        for sentence, length in zip(sentences, count(sentences), strict=True):
            for text, part in _words(sentence, length, size, count):
                units.append(_Unit(text, part, first))
                first = False
    return units


def _words(sentence: str, tokens: int, size: int, count: Count) -> list[tuple[str, int]]:
    words = sentence.split()
    if tokens <= size or len(words) < 2:
        return [(sentence, tokens)]  # a single over-long "word" is left to the encoder's cut
    # Tokens per word vary: cut at the share of words that should fit, measure, cut again.
    per_run = max(1, int(len(words) * size / tokens * 0.9))
    runs = [" ".join(words[i : i + per_run]) for i in range(0, len(words), per_run)]
    return [
        piece
        for run, length in zip(runs, count(runs), strict=True)
        for piece in _words(run, length, size, count)
    ]


def _pack(units: list[_Unit], heading: str, size: int, overlap: int) -> list[Piece]:
    pieces: list[Piece] = []
    current: list[_Unit] = []
    fresh = 0  # units in ``current`` that no earlier chunk holds

    def close() -> None:
        if fresh:
            text = _join(current)
            pieces.append(Piece(heading, text, sum(u.tokens for u in current)))

    for unit in units:
        total = sum(u.tokens for u in current)
        if current and total + unit.tokens > size:
            close()
            carried: list[_Unit] = []
            room = min(overlap, size - unit.tokens)  # the overlap never pushes past the size
            for previous in reversed(current):
                if sum(u.tokens for u in carried) + previous.tokens > room:
                    break
                carried.insert(0, previous)
            current, fresh = carried, 0
        current.append(unit)
        fresh += 1
    close()
    return pieces


def _join(units: Sequence[_Unit]) -> str:
    parts: list[str] = []
    for index, unit in enumerate(units):
        if index and unit.starts_block:
            parts.append("\n")
        elif index:
            parts.append(" ")
        parts.append(unit.text)
    return "".join(parts)
