"""The soak run's own bookkeeping, run for a few seconds against a real server (its timings and
memory figures are reported, not asserted)."""

from __future__ import annotations

import asyncio
import os

from django.contrib.auth.models import User
from rest_framework.authtoken.models import Token

from benchmarks.soak import Target, edited_assistant, soak_run
from builder.demo import demo_publish, demo_seed
from core.demo import DEMO_USERNAME


def test_mixed_traffic_is_counted_per_kind_with_nothing_lost(live_url: str) -> None:
    demo = demo_seed()
    demo_publish(demo.assistant)
    edited = edited_assistant(demo.assistant)
    token = Token.objects.create(user=User.objects.get(username=DEMO_USERNAME))
    target = Target(
        http=live_url,
        token=token.key,
        chat_assistant=demo.assistant.pk,
        edit_intent=edited.intents.get(name="order").pk,
        edit_assistant=edited.pk,
    )

    report = asyncio.run(
        soak_run(target, minutes=0.2, sessions=3, server_pids=lambda: [os.getpid()], warm_up_s=4)
    )

    assert (report["lost_messages"], report["duplicate_messages"]) == (0, 0)
    assert (report["errors"], report["server_errors"]) == (0, 0), {
        name: kind["error_examples"] for name, kind in report["kinds"].items()
    }
    assert all(kind["count"] > 0 for kind in report["kinds"].values()), report["kinds"]
    memory = report["memory"]["server"]
    assert memory["start_mb"] > 0
    assert memory["end_mb"] > 0
    assert edited.intents.get(name="order").utterances.filter(text__startswith="soak").count() <= 1
