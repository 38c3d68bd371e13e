from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from rest_framework.authtoken.models import Token

from benchmarks.loadtest import server_pids, server_start
from benchmarks.soak import Target, edited_assistant, soak_run
from builder.demo import demo_publish, demo_seed
from core.demo import DEMO_USERNAME


class Command(BaseCommand):
    help = (
        "Run mixed traffic for M minutes against a server it starts: websocket chats with the "
        "demo assistant, API edits that retrain a second assistant, explicit trainings and "
        "knowledge-base queries. Reports errors, lost and duplicate messages, p50/p99 per kind, "
        "and each process's memory at the start, after warm-up and at the end."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--minutes", type=float, required=True)
        parser.add_argument("--sessions", type=int, default=20, help="concurrent chats")
        parser.add_argument("--workers", type=int, default=1, help="server processes")
        parser.add_argument(
            "--warm-up", type=float, help="seconds before memory growth counts (default: a fifth)"
        )
        parser.add_argument("--output", type=Path, required=True)

    def handle(self, *args: Any, **options: Any) -> None:
        if options["minutes"] <= 0:
            raise CommandError("--minutes must be positive.")
        demo = demo_seed()
        demo_publish(demo.assistant)
        edited = edited_assistant(demo.assistant)
        user = get_user_model().objects.get(username=DEMO_USERNAME)
        token, _ = Token.objects.get_or_create(user=user)
        try:
            server, base = server_start(options["workers"])
        except RuntimeError as error:
            raise CommandError(str(error)) from None
        target = Target(
            http=base.replace("ws://", "http://"),
            token=token.key,
            chat_assistant=demo.assistant.pk,
            edit_intent=edited.intents.get(name="order").pk,
            edit_assistant=edited.pk,
        )
        try:
            report = asyncio.run(
                soak_run(
                    target,
                    minutes=options["minutes"],
                    sessions=options["sessions"],
                    server_pids=lambda: server_pids(server),
                    warm_up_s=options["warm_up"],
                )
            )
        finally:
            server.terminate()
            server.wait(timeout=30)
        report["server_workers"] = options["workers"]
        options["output"].write_text(json.dumps(report, indent=2) + "\n")
        self.stdout.write(
            f"{report['seconds']} s, {report['sessions']} concurrent chats: "
            f"lost {report['lost_messages']}, duplicates {report['duplicate_messages']}, "
            f"errors {report['errors']}, 5xx {report['server_errors']}"
        )
        for name, figures in report["kinds"].items():
            latency = figures["latency_ms"]
            self.stdout.write(
                f"  {name:<10} {figures['count']:>6} done, {figures['errors']} errors, "
                f"p50 {latency['p50']} ms, p99 {latency['p99']} ms"
            )
        for name, memory in report["memory"].items():
            self.stdout.write(
                f"  memory {name}: {memory['start_mb']} MB at start, "
                f"{memory['after_warm_up_mb']} after warm-up, {memory['end_mb']} at the end "
                f"({memory['growth_after_warm_up_pct']:+} % since warm-up)"
            )
