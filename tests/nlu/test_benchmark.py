from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from tests.nlu.conftest import UTTERANCES


def write_jsonl(path: Path, rows: Sequence[Mapping[str, object]]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


ROWS = [{"text": t, "intent": i, "entities": []} for i, texts in UTTERANCES.items() for t in texts]


def benchmark(
    train: Path, test: Path, output: Path, stdout: StringIO | None = None, *, mode: str = "fast"
) -> None:
    call_command(
        "nlu_benchmark",
        *("--train", str(train), "--test", str(test), "--output", str(output), "--mode", mode),
        stdout=stdout or StringIO(),
    )


def test_the_benchmark_command_writes_every_figure(tmp_path: Path) -> None:
    train = write_jsonl(tmp_path / "train.jsonl", ROWS[::2] + ROWS[1::4])
    test = write_jsonl(
        tmp_path / "test.jsonl",
        [*ROWS[3::4], {"text": "what's the weather in Oslo", "intent": "oos", "entities": []}],
    )
    stdout = StringIO()
    benchmark(train, test, tmp_path / "report.json", stdout)
    report = json.loads((tmp_path / "report.json").read_text())
    for key in [
        "intent_accuracy",
        "in_scope_accuracy",
        "oos_recall",
        "entity_f1",
        "train_seconds",
        "throughput_per_s",
        "peak_rss_mb",
        "retrain_one_intent_seconds",
    ]:
        assert key in report
    assert set(report["latency_ms"]) == {"p50", "p99"}
    assert report["intent_accuracy"] > 0.5
    assert report["oos_recall"] is not None
    assert "intent accuracy" in stdout.getvalue()


def test_latency_is_measured_on_one_thread(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from threadpoolctl import threadpool_info

    from nlu.model import NluModel

    blas_threads: list[int] = []
    parse = NluModel.parse

    def counting_parse(self: NluModel, text: str, **options: object) -> object:
        blas_threads.extend(pool["num_threads"] for pool in threadpool_info())
        return parse(self, text, **options)  # type: ignore[arg-type]

    monkeypatch.setattr(NluModel, "parse", counting_parse)
    train = write_jsonl(tmp_path / "train.jsonl", ROWS)
    benchmark(train, write_jsonl(tmp_path / "test.jsonl", ROWS[:5]), tmp_path / "report.json")
    assert blas_threads
    assert set(blas_threads) == {1}


def test_accurate_mode_fine_tunes_the_encoder_and_says_so(tmp_path: Path) -> None:
    train = write_jsonl(tmp_path / "train.jsonl", ROWS[::2] + ROWS[1::4])
    test = write_jsonl(tmp_path / "test.jsonl", ROWS[3::4])
    benchmark(train, test, tmp_path / "report.json", mode="accurate")
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["mode"] == "accurate"
    assert "+tuned-" in report["encoder"]
    assert report["intent_accuracy"] > 0.5
    assert report["retrain_one_intent_seconds"] is not None


def test_a_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(CommandError, match=r"nope\.jsonl"):
        benchmark(tmp_path / "nope.jsonl", tmp_path / "nope.jsonl", tmp_path / "r.json")
