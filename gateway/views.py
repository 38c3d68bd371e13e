"""The LLM usage page of a workspace."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import render

from builder.views.access import AuthenticatedRequest, member_workspace
from gateway.usage import usage_report

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
    totals = {
        "attempts": sum(row.attempts for row in rows),
        "tokens": sum(row.input_tokens + row.output_tokens for row in rows),
        "cost": sum(row.cost for row in rows),
        "unknown_cost": sum(row.unknown_cost for row in rows),
    }
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
            "totals": totals,
        },
    )
