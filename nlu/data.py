"""Labelled utterances, and the JSONL format of the public benchmark sets (see shared/data)."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

OUT_OF_SCOPE = "oos"


def normalised(text: str) -> str:
    """The utterance as duplicates are compared: lower case, punctuation and spacing folded."""
    return re.sub(r"\W+", " ", text.lower()).strip()


@dataclass(frozen=True)
class EntitySpan:
    start: int
    end: int
    entity: str
    value: str


@dataclass(frozen=True)
class Example:
    text: str
    intent: str
    entities: tuple[EntitySpan, ...] = field(default=())

    @property
    def in_scope(self) -> bool:
        return self.intent != OUT_OF_SCOPE


class DataError(ValueError):
    """A data file that cannot be read; the message names the file and line."""


def read_jsonl(path: Path) -> list[Example]:
    """One utterance a line: ``{"text", "intent", "entities": [{start, end, entity, value}]}``."""
    with Path(path).open(encoding="utf-8") as lines:
        return examples_from_jsonl(lines, str(path))


def examples_from_jsonl(lines: Iterable[str], source: str) -> list[Example]:
    examples = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            spans = tuple(
                EntitySpan(
                    start=int(span["start"]),
                    end=int(span["end"]),
                    entity=str(span["entity"]),
                    value=str(span.get("value", row["text"][span["start"] : span["end"]])),
                )
                for span in row.get("entities") or ()
            )
            examples.append(
                Example(text=str(row["text"]), intent=str(row["intent"]), entities=spans)
            )
        except (ValueError, KeyError, TypeError) as error:
            raise DataError(f"{source}, line {number}: {error!r}") from None
    return examples


def examples_from_csv(text: str, source: str) -> list[Example]:
    """Rows of ``text,intent`` (a header row naming them is skipped)."""
    examples = []
    try:
        rows = list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error as error:
        raise DataError(f"{source}: the CSV cannot be read ({error}).") from None
    for number, row in enumerate(rows, start=1):
        if not row or not any(cell.strip() for cell in row):
            continue
        if len(row) < 2 or not row[0].strip() or not row[1].strip():
            raise DataError(f"{source}, line {number}: expected text,intent")
        if number == 1 and [cell.strip().lower() for cell in row[:2]] == ["text", "intent"]:
            continue
        examples.append(Example(text=row[0].strip(), intent=row[1].strip()))
    return examples
