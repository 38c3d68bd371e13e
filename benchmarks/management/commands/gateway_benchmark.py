from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand

from benchmarks.gateway_benchmark import local_model_run, overhead_run, semantic_cache_precision


class Command(BaseCommand):
    help = (
        "Measure the bundled local model (first-token latency, tokens/s) and the gateway's own "
        "overhead against a loopback OpenAI-compatible server; prints a table."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--runs", type=int, default=10, help="local model generations")
        parser.add_argument("--max-tokens", type=int, default=64, help="tokens per generation")
        parser.add_argument("--calls", type=int, default=1000, help="calls for the overhead run")
        parser.add_argument(
            "--provider-delay-ms",
            type=float,
            default=0.0,
            help="how long the loopback provider takes to answer",
        )
        parser.add_argument(
            "--semantic-data",
            type=Path,
            help="an intent JSONL set: precision of the semantic cache's similarity threshold",
        )
        parser.add_argument("--output", type=Path, help="also write the figures as JSON")

    def handle(self, *args: Any, **options: Any) -> None:
        report = {
            "local_model": local_model_run(
                runs=options["runs"], max_tokens=options["max_tokens"], progress=_progress
            ),
            "gateway_overhead": overhead_run(
                calls=options["calls"],
                provider_delay_s=options["provider_delay_ms"] / 1000,
                progress=_progress,
            ),
        }
        if options["semantic_data"]:
            report["semantic_cache"] = semantic_cache_precision(options["semantic_data"])
        sys.stderr.write("\n")
        local, overhead = report["local_model"], report["gateway_overhead"]
        rows = [
            ("local model load + warm-up", f"{local['load_and_warm_up_s']} s"),
            ("local first token p50 / p99", _pair(local["first_token_ms"], "ms")),
            ("local tokens/s (median)", str(local["tokens_per_s"])),
            ("gateway call p50 / p99", _pair(overhead["gateway_ms"], "ms")),
            ("gateway overhead p50 / p99", _pair(overhead["overhead_ms"], "ms")),
            ("bare openai SDK, for comparison", _pair(overhead["sdk_and_http_only_ms"], "ms")),
            ("calls/s, one thread", str(overhead["calls_per_s"])),
            ("exact-cache hits/s", str(overhead["cache_hits_per_s"])),
        ]
        for row in report.get("semantic_cache", {}).get("thresholds", []):
            rows.append(
                (
                    f"semantic cache at cosine >= {row['threshold']}",
                    f"{row['hits']} hits, same-intent precision {row['same_intent_precision']}",
                )
            )
        width = max(len(name) for name, _ in rows)
        for name, value in rows:
            self.stdout.write(f"{name:<{width}}  {value}")
        if options["output"]:
            options["output"].write_text(json.dumps(report, indent=2) + "\n")


def _pair(figures: dict[str, float], unit: str) -> str:
    return f"{figures['p50']} / {figures['p99']} {unit}"


def _progress(stage: str, fraction: float) -> None:
    filled = int(fraction * 30)
    if int(fraction * 100) == int((fraction - 0.001) * 100) and fraction < 1:
        return  # redraw once per percent
    sys.stderr.write(f"\r[{'#' * filled}{'.' * (30 - filled)}] {fraction:4.0%} {stage:<12}")
    sys.stderr.flush()
