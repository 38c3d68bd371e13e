"""The retrain benchmark's measurement, on a tiny data set (its figures are not asserted)."""

from __future__ import annotations

import json

import pytest

from builder.benchmark import retrain_run
from tests.nlu.conftest import UTTERANCES

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_retrain_benchmark_reports_every_edit_reaching_the_test_panel(tmp_path):
    data = tmp_path / "train.jsonl"
    data.write_text(
        "".join(
            json.dumps({"text": text, "intent": intent}) + "\n"
            for intent, texts in UTTERANCES.items()
            for text in texts
        )
    )

    report = retrain_run(data=data, intents=3, edits=2, progress=lambda stage, done: None)

    assert report["intents"] == 3
    assert report["edits"] == 2
    assert report["training_kinds"] == ["incremental"]
    assert set(report["edit_to_test_panel_s"]) == {"p50", "max"}
