"""The retrain benchmark's measurement, on a tiny data set (its figures are not asserted)."""

from __future__ import annotations

import io
import json
from decimal import Decimal

import pytest
from django.core.management import call_command

from benchmarks.fake_provider import reply
from benchmarks.retrain import retrain_run
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
    # Under 1,000 utterances a full training is as quick as re-fitting, and recalibrates.
    assert report["training_kinds"] == ["full"]
    assert set(report["edit_to_test_panel_s"]) == {"p50", "max"}


def write_jsonl(path, rows: dict[str, list[str]]) -> None:
    path.write_text(
        "".join(
            json.dumps({"text": text, "intent": intent}) + "\n"
            for intent, texts in rows.items()
            for text in texts
        )
    )


def test_the_synthesis_benchmark_trains_on_llm_utterances_and_on_real_ones(tmp_path, primary, fake):
    test = tmp_path / "test.jsonl"
    write_jsonl(test, UTTERANCES)
    written = {
        "greet": ["hello there", "hi!"],
        "opening_hours": ["when do you open", "are you open late"],
        "order_pizza": ["one pepperoni please", "I want pizza"],
        "track_order": ["where's my food", "is my delivery close"],
    }
    for name in sorted(written):  # the intents are asked for in name order
        fake.script("primary", reply(json.dumps({"utterances": written[name]}), usage=(200, 30)))
    output = tmp_path / "report.json"

    call_command(
        "synth_benchmark",
        test=test,
        per_intent=2,
        model="loopback:primary",
        output=output,
        stdout=io.StringIO(),
        stderr=io.StringIO(),
    )

    report = json.loads(output.read_text())
    assert report["intents"] == 4
    assert report["synthetic"]["training_utterances"] == 8
    assert report["real"]["training_utterances"] == 8
    assert report["test_utterances"] == sum(len(t) for t in UTTERANCES.values()) - 8
    assert (report["llm_attempts"], report["failed_calls"]) == (4, 0)
    assert (report["input_tokens"], report["output_tokens"]) == (800, 120)
    # The catalogue prices primary at $2 / $8 per million input / output tokens.
    assert Decimal(report["cost"]) == 4 * (200 * Decimal(2) + 30 * Decimal(8)) / 1_000_000
    assert report["samples"]["greet"] == ["hello there", "hi!"]
    assert 0 <= report["synthetic"]["accuracy"] <= 1
    prompt = "\n".join(m["content"] for m in fake.requests[0]["messages"])
    assert "Intent: greet" in prompt
    assert "opening_hours" in prompt


def test_the_conflicts_benchmark_reports_pairs_clarity_and_injections(tmp_path):
    data = tmp_path / "train.jsonl"
    write_jsonl(data, UTTERANCES)
    output = tmp_path / "report.json"

    call_command(
        "conflicts_benchmark",
        train=data,
        folds=2,
        inject=1,
        trials=2,
        output=output,
        stdout=io.StringIO(),
    )

    report = json.loads(output.read_text())
    assert (report["utterances"], report["intents"]) == (32, 4)
    assert report["top_pairs_real"] == sum(1 for p in report["top_pairs"] if p["kfold_errors"])
    assert -1 <= report["clarity_spearman_vs_kfold_f1"] <= 1
    assert [row["injected"] for row in report["injections"]] == [1, 1]
    assert all(0 <= row["flagged"] <= 1 for row in report["injections"])
