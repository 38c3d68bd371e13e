from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from benchmarks.conflicts import conflicts_benchmark
from nlu.data import DataError


class Command(BaseCommand):
    help = (
        "Check the conflict detector and the clarity score against the model's k-fold errors "
        "on TRAIN, and count how many injected (relabelled) utterances it flags."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--train", type=Path, required=True, help="labelled JSONL")
        parser.add_argument("--folds", type=int, default=5, help="k-fold evaluation folds")
        parser.add_argument("--inject", type=int, default=30, help="utterances moved per trial")
        parser.add_argument("--trials", type=int, default=3, help="random intent pairs to try")
        parser.add_argument("--output", type=Path, required=True, help="where to write the report")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            report = conflicts_benchmark(
                options["train"],
                folds=options["folds"],
                inject=options["inject"],
                trials=options["trials"],
            )
        except (DataError, FileNotFoundError, ValueError) as error:
            raise CommandError(str(error)) from None
        options["output"].write_text(json.dumps(report, indent=2) + "\n")
        self.stdout.write(json.dumps({k: v for k, v in report.items() if k != "top_pairs"}))
        self.stdout.write(f"Report written to {options['output']}")
