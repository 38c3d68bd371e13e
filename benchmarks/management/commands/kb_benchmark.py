from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from benchmarks.kb_benchmark import kb_benchmark
from knowledge.models import Fusion


class Command(BaseCommand):
    help = (
        "Ingest every file of --docs into a fresh knowledge base, ask each question of --questions "
        "(JSONL: {question, answers}) and report recall@1/3/5, MRR and retrieval latency for BM25, "
        "dense and hybrid search, and how often unanswerable questions get 'not found'."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--docs", type=Path, required=True, help="a folder of documents")
        parser.add_argument("--questions", type=Path, required=True, help="questions JSONL")
        parser.add_argument("--output", type=Path, required=True, help="where to write the report")
        parser.add_argument("--chunk-tokens", type=int, help="chunk size (default: the product's)")
        parser.add_argument("--overlap-tokens", type=int, help="overlap (default: the product's)")
        parser.add_argument("--min-score", type=float, help="relevance threshold")
        parser.add_argument("--fusion", choices=Fusion.values, help="how hybrid search fuses")
        parser.add_argument(
            "--scale",
            default="10000,100000",
            help="chunk counts to time search at, comma-separated ('' for none)",
        )
        parser.add_argument(
            "--answer-all",
            action="store_true",
            help="also run the full answer path on the answerable questions (slow with the "
            "bundled model)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if not options["docs"].is_dir():
            raise CommandError(f"{options['docs']} is not a folder")
        for noisy in ("huey", "bm25s"):  # a log line per document and per index build otherwise
            logging.getLogger(noisy).setLevel(logging.WARNING)
        # The knowledge base is made through the product's own tables: bring them up to date.
        call_command("migrate", verbosity=0, interactive=False)
        settings = {
            field: options[option]
            for field, option in (
                ("chunk_tokens", "chunk_tokens"),
                ("overlap_tokens", "overlap_tokens"),
                ("min_score", "min_score"),
                ("fusion", "fusion"),
            )
            if options[option] is not None
        }
        try:
            scales = tuple(int(n) for n in options["scale"].split(",") if n.strip())
            report = kb_benchmark(
                options["docs"],
                options["questions"],
                settings=settings,
                scales=scales,
                answer_all=options["answer_all"],
                progress=_progress,
            )
        except (ValueError, OSError) as error:
            raise CommandError(str(error)) from None
        sys.stderr.write("\n")
        options["output"].write_text(json.dumps(report, indent=2) + "\n")
        self.stdout.write(
            f"documents {report['documents']} ({len(report['documents_failed'])} failed), "
            f"chunks {report['chunks']}, ingest {report['ingest_seconds']} s\n"
            f"{'mode':<16}{'R@1':>7}{'R@3':>7}{'R@5':>7}{'MRR':>7}{'p50 ms':>9}{'p99 ms':>9}"
        )
        for mode in ("bm25", "dense", "hybrid", "hybrid_rrf", "hybrid_weighted"):
            row = report[mode]
            latency = row["retrieval_latency_ms"]
            self.stdout.write(
                f"{mode:<16}{row['recall_at_1']:>7.3f}{row['recall_at_3']:>7.3f}"
                f"{row['recall_at_5']:>7.3f}{row['mrr']:>7.3f}{latency['p50']:>9.2f}"
                f"{latency['p99']:>9.2f}"
            )
        self.stdout.write(
            f"no-answer precision {report['no_answer_precision']}, answerable below threshold "
            f"{report['answerable_below_threshold']}"
        )
        for size, figures in report["scale"].items():
            latency = figures["retrieval_latency_ms"]
            self.stdout.write(
                f"at {size} chunks: hybrid p50 {latency['p50']} ms, p99 {latency['p99']} ms"
            )


def _progress(stage: str, done: int, total: int) -> None:
    sys.stderr.write(f"\r{stage}: {done}/{total}" + " " * 10)
    sys.stderr.flush()
