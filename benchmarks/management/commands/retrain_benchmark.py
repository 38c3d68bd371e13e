from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from huey.contrib.djhuey import HUEY

from benchmarks.retrain import retrain_run


class Command(BaseCommand):
    help = (
        "Build an assistant of N intents from an intent JSONL set, then edit one intent at a time "
        "and time how long until the test panel's draft model knows the edit (queue, consumer, "
        "training and model swap included)."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--data", type=Path, required=True, help="an intent JSONL set")
        parser.add_argument("--intents", type=int, default=50)
        parser.add_argument("--edits", type=int, default=5)
        parser.add_argument("--output", type=Path, help="also write the figures as JSON")

    def handle(self, *args: Any, **options: Any) -> None:
        from config.asgi import InProcessTaskConsumer  # the consumer the server runs

        if HUEY.immediate:
            raise CommandError("run it with the real task queue (TASKS_IMMEDIATE off)")
        consumer = InProcessTaskConsumer(HUEY, **settings.HUEY["consumer"])
        consumer.start()
        try:
            report = retrain_run(
                data=options["data"],
                intents=options["intents"],
                edits=options["edits"],
                progress=_progress,
            )
        except (ValueError, FileNotFoundError) as error:
            raise CommandError(str(error)) from None
        finally:
            consumer.stop(graceful=True)
        sys.stderr.write("\n")
        edit = report["edit_to_test_panel_s"]
        self.stdout.write(
            f"intents {report['intents']}, utterances {report['utterances']}\n"
            f"first training         {report['first_training_s']} s\n"
            f"edit -> test panel     p50 {edit['p50']} s, max {edit['max']} s "
            f"({report['edits']} edits, training: {', '.join(map(str, report['training_kinds']))})"
        )
        if options["output"]:
            options["output"].write_text(json.dumps(report, indent=2) + "\n")


def _progress(stage: str, fraction: float) -> None:
    sys.stderr.write(f"\r{stage}: {fraction:4.0%}")
    sys.stderr.flush()
