"""How much the in-house NLU is used and how fast it is, per day and assistant, from the turns of
live conversations (the usage page shows it next to the LLM's ledger)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
from django.db.models.functions import TruncDate
from django.utils import timezone

from runtime.models import TurnRecord


@dataclass(frozen=True)
class NluUsageRow:
    day: date
    assistant_id: int
    assistant: str
    turns: int  # user turns the NLU understood
    matched: int  # of them, those it gave an intent
    decided_by_llm: int  # hybrid mode: turns where the LLM chose the intent
    nlu_p50_ms: float
    nlu_p99_ms: float


def nlu_usage(
    *, workspace_id: int, assistant_id: int | None = None, days: int = 30
) -> list[NluUsageRow]:
    """One row per day and assistant for the last ``days`` days, newest first."""
    since = timezone.now() - timedelta(days=days)
    turns = TurnRecord.objects.filter(
        conversation__assistant__workspace_id=workspace_id,
        created_at__gte=since,
        nlu_ms__isnull=False,
    )
    if assistant_id is not None:
        turns = turns.filter(conversation__assistant_id=assistant_id)
    groups: dict[tuple[date, int, str], list[dict]] = defaultdict(list)
    rows = turns.annotate(day=TruncDate("created_at")).values(
        "day", "conversation__assistant_id", "conversation__assistant__name", "intent",
        "decided_by", "nlu_ms",
    )  # fmt: skip
    for row in rows:
        key = (row["day"], row["conversation__assistant_id"], row["conversation__assistant__name"])
        groups[key].append(row)
    report = []
    for (day, assistant, name), group in groups.items():
        latencies = np.array([row["nlu_ms"] for row in group])
        report.append(
            NluUsageRow(
                day=day,
                assistant_id=assistant,
                assistant=name,
                turns=len(group),
                matched=sum(bool(row["intent"]) for row in group),
                decided_by_llm=sum(row["decided_by"] == "llm" for row in group),
                nlu_p50_ms=round(float(np.percentile(latencies, 50)), 2),
                nlu_p99_ms=round(float(np.percentile(latencies, 99)), 2),
            )
        )
    report.sort(key=lambda row: (row.day, row.assistant), reverse=True)
    return report
