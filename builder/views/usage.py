"""The usage page of a workspace: LLM calls, tokens and cost from the ledger, and the in-house
NLU's turns and latency, per day, with charts drawn here (SVG, no scripts)."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import render
from django.utils import timezone

from core.pages import AuthenticatedRequest, member_workspace
from gateway.usage import usage_report
from runtime.usage import nlu_usage

DAY_CHOICES = (1, 7, 30, 90)


@login_required
def workspace_usage(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    workspace = member_workspace(request, pk)
    assistants = list(workspace.assistants.order_by("name"))
    chosen = request.GET.get("assistant", "")
    assistant = next((a for a in assistants if str(a.pk) == chosen), None)
    asked = request.GET.get("days", "")
    days = int(asked) if asked in {str(choice) for choice in DAY_CHOICES} else 30
    rows = usage_report(
        workspace_id=workspace.pk, assistant_id=assistant.pk if assistant else None, days=days
    )
    nlu_rows = nlu_usage(
        workspace_id=workspace.pk, assistant_id=assistant.pk if assistant else None, days=days
    )
    totals = {
        "attempts": sum(row.attempts for row in rows),
        "tokens": sum(row.input_tokens + row.output_tokens for row in rows),
        "cost": sum(row.cost for row in rows),
        "unknown_cost": sum(row.unknown_cost for row in rows),
        "nlu_turns": sum(row.turns for row in nlu_rows),
    }
    cost_by_day: dict[date, Decimal] = defaultdict(Decimal)
    for row in rows:
        cost_by_day[row.day] += row.cost
    turns_by_day: dict[date, float] = defaultdict(float)
    for nlu_row in nlu_rows:
        turns_by_day[nlu_row.day] += nlu_row.turns
    return render(
        request,
        "gateway/usage.html",
        {
            "workspace": workspace,
            "assistants": assistants,
            "assistant": assistant,
            "days": days,
            "day_choices": DAY_CHOICES,
            "rows": rows,
            "nlu_rows": nlu_rows,
            "totals": totals,
            "charts": [
                (day_bars({d: float(cost) for d, cost in cost_by_day.items()}, days), "LLM cost"),
                (day_bars(turns_by_day, days), "NLU turns"),
            ],
        },
    )


def day_bars(values: dict[date, float], days: int) -> dict[str, Any] | None:
    """A bar per day of the period (oldest left), scaled to the largest; None with no data."""
    if not any(values.values()):
        return None
    today = timezone.localdate()
    period = [today - timedelta(days=offset) for offset in range(days - 1, -1, -1)]
    top = max(values.values())
    width, height, gap = 640, 120, 2
    step = width / len(period)
    bars = []
    for index, day in enumerate(period):
        value = values.get(day, 0.0)
        bar_height = round(value / top * height, 1)
        bars.append(
            {
                "x": round(index * step, 1),
                "y": round(height - bar_height, 1),
                "width": max(round(step - gap, 1), 1),
                "height": bar_height,
                "title": f"{day:%Y-%m-%d}: {value:g}",
            }
        )
    return {"width": width, "height": height, "bars": bars, "top": top, "first": period[0]}
