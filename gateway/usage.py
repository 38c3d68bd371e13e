"""Usage and cost per day, assistant, model and purpose, from the attempt ledger."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

import numpy as np
from django.db.models.functions import TruncDate
from django.utils import timezone

from gateway.models import Attempt, Outcome


@dataclass(frozen=True)
class UsageRow:
    day: date
    assistant_id: int | None
    assistant: str
    model: str
    purpose: str
    attempts: int
    failed: int
    cache_hits: int
    input_tokens: int
    output_tokens: int
    cost: Decimal  # of the attempts whose price is known
    unknown_cost: int  # attempts whose price is unknown: the true cost is higher than ``cost``
    latency_p50_ms: float
    latency_p99_ms: float
    first_token_p50_ms: float | None


def usage_report(
    *, workspace_id: int, assistant_id: int | None = None, days: int = 30
) -> list[UsageRow]:
    """One row per day, assistant, model and purpose for the last ``days`` days, newest first."""
    since = timezone.now() - timedelta(days=days)
    attempts = Attempt.objects.filter(workspace_id=workspace_id, created_at__gte=since)
    if assistant_id is not None:
        attempts = attempts.filter(assistant_id=assistant_id)
    groups: dict[tuple[date, int | None, str, str, str], list[dict]] = defaultdict(list)
    rows = attempts.annotate(day=TruncDate("created_at")).values(
        "day",
        "assistant_id",
        "assistant__name",
        "model",
        "purpose",
        "outcome",
        "cache_hit",
        "input_tokens",
        "output_tokens",
        "cost",
        "total_ms",
        "first_token_ms",
    )
    for row in rows:
        assistant = row["assistant__name"] or "(deleted)"
        key = (row["day"], row["assistant_id"], assistant, row["model"], row["purpose"])
        groups[key].append(row)
    report = [_summary(key, rows) for key, rows in groups.items()]
    report.sort(key=lambda row: (row.day, row.assistant, row.model, row.purpose), reverse=True)
    return report


def _summary(key: tuple[date, int | None, str, str, str], rows: list[dict]) -> UsageRow:
    day, assistant_id, assistant, model, purpose = key
    latencies = np.array([row["total_ms"] for row in rows])
    first_tokens = [row["first_token_ms"] for row in rows if row["first_token_ms"] is not None]
    return UsageRow(
        day=day,
        assistant_id=assistant_id,
        assistant=assistant,
        model=model,
        purpose=purpose,
        attempts=len(rows),
        failed=sum(row["outcome"] != Outcome.OK for row in rows),
        cache_hits=sum(row["cache_hit"] for row in rows),
        input_tokens=sum(row["input_tokens"] for row in rows),
        output_tokens=sum(row["output_tokens"] for row in rows),
        cost=sum((row["cost"] for row in rows if row["cost"] is not None), Decimal(0)),
        unknown_cost=sum(row["cost"] is None for row in rows),
        latency_p50_ms=round(float(np.percentile(latencies, 50)), 1),
        latency_p99_ms=round(float(np.percentile(latencies, 99)), 1),
        first_token_p50_ms=round(float(np.median(first_tokens)), 1) if first_tokens else None,
    )
