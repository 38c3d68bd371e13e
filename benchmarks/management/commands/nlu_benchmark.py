from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from benchmarks.nlu_benchmark import BenchmarkInput, benchmark_run
from nlu.data import DataError


class Command(BaseCommand):
    help = (
        "Train the in-house NLU from scratch on TRAIN, evaluate on TEST and measure latency, "
        "throughput and memory; writes a JSON report."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--train", type=Path, required=True, help="training JSONL")
        parser.add_argument("--test", type=Path, required=True, help="test JSONL")
        parser.add_argument("--valid", type=Path, help="validation JSONL (threshold calibration)")
        parser.add_argument("--mode", choices=["fast", "accurate"], default="fast")
        parser.add_argument("--variant", choices=["float32", "int8"], help="encoder weights")
        parser.add_argument("--output", type=Path, required=True, help="where to write the report")

    def handle(self, *args: Any, **options: Any) -> None:
        spec = BenchmarkInput(
            train=options["train"],
            test=options["test"],
            valid=options["valid"],
            mode=options["mode"],
            variant=options["variant"],
        )
        try:
            report = benchmark_run(spec, progress=_progress_bar)
        except (DataError, FileNotFoundError, ValueError) as error:
            raise CommandError(str(error)) from None
        sys.stderr.write("\n")
        options["output"].write_text(json.dumps(report, indent=2) + "\n")
        self.stdout.write(_table(report))
        self.stdout.write(f"Report written to {options['output']}")


def _progress_bar(stage: str, fraction: float) -> None:
    filled = int(fraction * 30)
    sys.stderr.write(f"\r[{'#' * filled}{'.' * (30 - filled)}] {fraction:4.0%} {stage:<12}")
    sys.stderr.flush()


def _table(report: dict[str, Any]) -> str:
    def show(value: Any) -> str:
        return "—" if value is None else str(value)

    rows = [
        ("intent accuracy", report["intent_accuracy"]),
        ("in-scope accuracy", report["in_scope_accuracy"]),
        ("out-of-scope recall", report["oos_recall"]),
        ("entity F1", report["entity_f1"]),
        ("train seconds", report["train_seconds"]),
        ("retrain one intent, s", report["retrain_one_intent_seconds"]),
        ("latency p50 / p99 ms", f"{report['latency_ms']['p50']} / {report['latency_ms']['p99']}"),
        ("throughput /s", report["throughput_per_s"]),
        ("peak RSS MB", report["peak_rss_mb"]),
    ]
    width = max(len(name) for name, _ in rows)
    return "\n".join(f"{name:<{width}}  {show(value)}" for name, value in rows)
