from __future__ import annotations

from pathlib import Path

import pytest

from nlu.data import DataError, EntitySpan, read_jsonl


def test_it_reads_utterances_with_entity_spans(tmp_path: Path) -> None:
    path = tmp_path / "train.jsonl"
    path.write_text(
        '{"text": "book a table in Paris", "intent": "book", '
        '"entities": [{"start": 16, "end": 21, "entity": "city", "value": "Paris"}]}\n\n'
        '{"text": "hi", "intent": "greet", "entities": []}\n'
    )
    first, second = read_jsonl(path)
    assert first.entities == (EntitySpan(16, 21, "city", "Paris"),)
    assert second.intent == "greet"


def test_a_broken_line_is_reported_with_its_number(tmp_path: Path) -> None:
    path = tmp_path / "train.jsonl"
    path.write_text('{"text": "hi", "intent": "greet"}\n{"text": "oops"\n')
    with pytest.raises(DataError, match="line 2"):
        read_jsonl(path)
