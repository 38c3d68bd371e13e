"""Labelled utterances, and the JSONL format of the public benchmark sets (see shared/data)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

OUT_OF_SCOPE = "oos"


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
    examples = []
    with Path(path).open(encoding="utf-8") as lines:
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
                raise DataError(f"{path}, line {number}: {error!r}") from None
    return examples
