from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from benchmarks.synthesis import synth_benchmark
from nlu.data import DataError


class Command(BaseCommand):
    help = (
        "Train the NLU on N utterances per intent written by an LLM from the intent names alone, "
        "and on N real ones, and report both accuracies on the real test utterances."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--test", type=Path, required=True, help="labelled JSONL")
        parser.add_argument("--per-intent", type=int, required=True, help="N utterances per intent")
        parser.add_argument("--output", type=Path, required=True, help="where to write the report")
        parser.add_argument(
            "--train", type=Path, help="real utterances (default: N held out of --test per intent)"
        )
        parser.add_argument("--model", help="catalogue key of the LLM (default: the gateway's)")
        parser.add_argument("--max-intents", type=int, help="a random sample of this many intents")
        parser.add_argument("--seed", type=int, default=0)

    def handle(self, *args: Any, **options: Any) -> None:
        if options["per_intent"] < 1:
            raise CommandError("--per-intent must be at least 1")
        logging.getLogger("gateway").setLevel(logging.WARNING)
        # The LLM calls go through the gateway, whose catalogue and ledger are tables.
        call_command("migrate", verbosity=0, interactive=False)
        try:
            report = synth_benchmark(
                options["test"],
                per_intent=options["per_intent"],
                train_path=options["train"],
                model=options["model"],
                max_intents=options["max_intents"],
                seed=options["seed"],
                progress=_progress,
            )
        except (DataError, OSError, ValueError) as error:
            raise CommandError(str(error)) from None
        sys.stderr.write("\n")
        options["output"].write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
        for label in ("synthetic", "real"):
            row = report[label]
            self.stdout.write(
                f"{label:<10} {row['training_utterances']:>6} utterances  "
                f"accuracy {row['accuracy']:.4f}  macro-F1 {row['macro_f1']:.4f}"
            )
        self.stdout.write(
            f"{report['llm_attempts']} LLM calls to {', '.join(report['llm']) or 'no model'} "
            f"({report['failed_calls']} failed), {report['synthesis_seconds']} s; "
            f"report written to {options['output']}"
        )


def _progress(stage: str, fraction: float) -> None:
    sys.stderr.write(f"\r{stage} ({fraction:4.0%})" + " " * 20)
