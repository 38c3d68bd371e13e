from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from benchmarks.loadtest import loadtest_run, server_cpu_s, server_peak_rss_mb, server_start
from builder.demo import demo_publish, demo_seed
from config.collector import long_lived_freeze


class Command(BaseCommand):
    help = (
        "Open N concurrent websocket conversations, send T NLU-answered turns each with human "
        "pauses, check every reply arrived once and in order, and time each turn. Without --url "
        "it starts the server itself (--workers processes) and reports its peak memory."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--sessions", type=int, required=True)
        parser.add_argument("--turns", type=int, required=True)
        parser.add_argument("--url", help="ws://host:port of a running server")
        parser.add_argument("--assistant", type=int, help="default: the demo assistant")
        parser.add_argument("--workers", type=int, default=1, help="server processes to start")
        parser.add_argument(
            "--pause", type=float, nargs=2, default=[1.0, 3.0], metavar=("MIN", "MAX")
        )
        parser.add_argument("--output", type=Path, required=True)

    def handle(self, *args: Any, **options: Any) -> None:
        assistant = options["assistant"]
        if assistant is None:
            demo = demo_seed()
            demo_publish(demo.assistant)
            assistant = demo.assistant.pk
        server = None
        base = options["url"]
        if base is None:
            try:
                server, base = server_start(options["workers"])
            except RuntimeError as error:
                raise CommandError(str(error)) from None
        cpu_before = server_cpu_s(server) if server else 0.0
        # The client's own full collections would stall every session it times.
        long_lived_freeze(collect=True)
        try:
            report = asyncio.run(
                loadtest_run(
                    url=f"{base.rstrip('/')}/ws/chat/{assistant}/",
                    sessions=options["sessions"],
                    turns=options["turns"],
                    pause_s=tuple(options["pause"]),
                )
            )
            report["server_peak_rss_mb"] = server_peak_rss_mb(server) if server else None
            # Per turn, each session's hello included: steadier than latency on a busy machine.
            handled = report["turns"] + report["sessions"]
            report["server_cpu_ms_per_turn"] = (
                round((server_cpu_s(server) - cpu_before) * 1000 / max(1, handled), 2)
                if server
                else None
            )
            report["server_workers"] = options["workers"] if server else None
        finally:
            if server is not None:
                server.terminate()
                server.wait(timeout=30)
        options["output"].write_text(json.dumps(report, indent=2) + "\n")
        latency = report["turn_latency_ms"]
        self.stdout.write(
            f"sessions {report['sessions']}, turns {report['turns']}/{report['expected_turns']}, "
            f"{report['turns_per_s']} turns/s over {report['seconds']} s\n"
            f"lost {report['lost_messages']}, duplicates {report['duplicate_messages']}, "
            f"wrong replies {report['wrong_replies']}, errors {report['errors']}\n"
            f"turn latency p50 {latency['p50']} ms, p99 {latency['p99']} ms\n"
            f"server peak RSS {report['server_peak_rss_mb']} MB, "
            f"CPU {report['server_cpu_ms_per_turn']} ms per turn"
        )
