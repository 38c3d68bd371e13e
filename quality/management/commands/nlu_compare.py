from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from core.models import Assistant
from quality.services.comparison import CLASSIFIERS, compare, estimate, sample
from quality.services.evaluations import test_set_read


class Command(BaseCommand):
    help = (
        "Compare the assistant's in-house NLU, an LLM classifier and the hybrid on a labelled "
        "test set (JSONL or CSV): accuracy, macro-F1, out-of-scope recall, latency, tokens, cost."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--assistant", type=int, required=True)
        parser.add_argument("--test", type=Path, required=True, help="labelled JSONL or CSV")
        parser.add_argument("--llm", help="catalogue key of the LLM (default: the assistant's)")
        parser.add_argument("--output", type=Path, required=True)
        parser.add_argument(
            "--max-items", type=int, default=200, help="at most this many utterances go to the LLM"
        )
        parser.add_argument("--few-shot", type=int, default=3)

    def handle(self, *args: Any, **options: Any) -> None:
        assistant = Assistant.objects.filter(pk=options["assistant"]).first()
        if assistant is None:
            raise CommandError(f"No assistant {options['assistant']}.")
        try:
            examples = test_set_read(options["test"].name, options["test"].read_bytes())
            chosen = sample(examples, options["max_items"])
            cost = estimate(
                assistant, len(chosen), llm=options["llm"], few_shot=options["few_shot"]
            )
            self.stderr.write(
                f"{cost['items']} utterances to {cost['model']}: about {cost['input_tokens']} "
                f"input tokens, estimated cost {cost['cost'] or 'unknown (no price)'} USD"
            )
            report = compare(
                assistant,
                examples,
                llm=options["llm"],
                few_shot=options["few_shot"],
                max_items=options["max_items"],
                progress=_progress,
            )
        except (ValidationError, ValueError, OSError) as error:
            message = " ".join(error.messages) if isinstance(error, ValidationError) else error
            raise CommandError(str(message)) from None
        sys.stderr.write("\n")
        options["output"].write_text(json.dumps(report, indent=2) + "\n")
        self.stdout.write(
            f"{'classifier':<10}{'accuracy':>10}{'macro F1':>10}{'oos rec.':>10}"
            f"{'p50 ms':>10}{'p99 ms':>10}{'tokens':>10}{'$/1000 turns':>16}"
        )
        for name in CLASSIFIERS:
            row = report["classifiers"][name]
            oos = "—" if row["out_of_scope_recall"] is None else f"{row['out_of_scope_recall']:.3f}"
            self.stdout.write(
                f"{name:<10}{row['accuracy']:>10.3f}{row['macro_f1']:>10.3f}{oos:>10}"
                f"{row['latency_ms']['p50']:>10.2f}{row['latency_ms']['p99']:>10.2f}"
                f"{row['input_tokens'] + row['output_tokens']:>10}"
                f"{row['cost_per_1000_turns'] or 'unknown':>16}"
            )
        for name, versus in report["versus_nlu"].items():
            self.stdout.write(
                f"{name} vs nlu: accuracy {versus['accuracy_difference']:+.3f}, "
                f"cost x{versus['cost_ratio']}"
            )


def _progress(stage: str, fraction: float) -> None:
    sys.stderr.write(f"\r{stage} ({fraction:4.0%})" + " " * 10)
    sys.stderr.flush()
