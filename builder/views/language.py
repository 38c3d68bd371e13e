"""The language tools on the builder's pages: conflicts with their one-click fixes (move, delete,
edit an utterance; merge two intents) and cold-start synthesis. Plain forms; the suggestion
panels are scripts over the REST API."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from builder import services
from builder.services.fixes import intents_merge, utterance_move
from builder.services.suggestions import intent_synthesise
from core.models import Assistant, Intent, Utterance, can_edit, member_rows
from core.pages import AuthenticatedRequest, member_assistant
from gateway.errors import GatewayError

SHOWN_CONFLICTS = 40


def fix_targets(assistant: Assistant) -> tuple[dict[str, int], dict[tuple[str, str], int]]:
    """What the one-click fixes point at: the assistant's intent ids by name, and its
    utterance ids by (intent name, lower-cased text)."""
    intents = dict(assistant.intents.values_list("name", "pk"))
    utterances = {
        (name, text.lower()): pk
        for pk, name, text in Utterance.objects.filter(intent__assistant=assistant).values_list(
            "pk", "intent__name", "text"
        )
    }
    return intents, utterances


def conflict_rows(assistant: Assistant, analysis: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The analysis' conflicts with the ids the fix buttons need; utterances changed since the
    analysis are left out (and a conflict left with nothing to fix is dropped)."""
    if not analysis or "conflicts" not in analysis:
        return []
    intents, utterances = fix_targets(assistant)
    rows = []
    for conflict in analysis["conflicts"]:
        shown = [
            {
                **row,
                "id": utterances[(row["intent"], row["text"].lower())],
                "intent_id": intents.get(row["intent"]),
                "predicted_id": intents.get(row["predicted"]),
            }
            for row in conflict["utterances"]
            if (row["intent"], row["text"].lower()) in utterances
        ]
        pair = [intents.get(name) for name in conflict["intents"]]
        if not shown and not (conflict["kind"] == "confused_pair" and all(pair)):
            continue
        rows.append({**conflict, "utterances": shown, "intent_ids": pair})
        if len(rows) == SHOWN_CONFLICTS:
            break
    return rows


@login_required
@require_POST
def intent_fix(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    """Apply one fix from the conflicts list or an evaluation's errors (move, delete or edit an
    utterance, add one to an intent, merge two intents), then back to where it was asked."""
    assistant = member_assistant(request, pk, edit=True)
    action = request.POST.get("action")
    try:
        if action == "add":
            intent = get_object_or_404(assistant.intents, pk=request.POST.get("intent"))
            if services.utterances_add(intent=intent, utterances=[request.POST.get("text", "")]):
                messages.success(request, f"Added to {intent.name}; the NLU is training.")
            else:
                messages.error(request, f"{intent.name} already has that utterance.")
        elif action == "merge":
            source = get_object_or_404(assistant.intents, pk=request.POST.get("source"))
            into = get_object_or_404(assistant.intents, pk=request.POST.get("into"))
            intents_merge(source=source, into=into)
            messages.success(
                request, f"Merged {source.name} into {into.name}; the NLU is training."
            )
        else:
            utterance = get_object_or_404(
                Utterance.objects.filter(intent__assistant=assistant),
                pk=request.POST.get("utterance"),
            )
            if action == "move":
                target = get_object_or_404(assistant.intents, pk=request.POST.get("intent"))
                utterance_move(utterance=utterance, intent=target)
                messages.success(request, f"“{utterance.text}” moved to {target.name}.")
            elif action == "delete":
                services.utterance_delete(utterance=utterance)
                messages.success(request, f"“{utterance.text}” deleted.")
            elif action == "edit":
                services.utterance_update(
                    utterance=utterance, text=request.POST.get("text", ""), entities=[]
                )
                messages.success(request, f"Saved “{utterance.text}”.")
            else:
                messages.error(request, "Unknown fix.")
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    back = request.POST.get("next", "")
    if back and url_has_allowed_host_and_scheme(back, {request.get_host()}):
        return redirect(back)
    return redirect("intent-list", pk=assistant.pk)


@login_required
@require_POST
def intent_synthesis(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    """Write starting utterances for an intent with the assistant's LLM (cold start)."""
    intent = get_object_or_404(
        member_rows(Intent.objects.select_related("assistant"), request.user), pk=pk
    )
    if not can_edit(intent.member_role):
        messages.error(request, "Viewers cannot change intents.")
        return redirect("intent-detail", pk=pk)
    try:
        added = intent_synthesise(intent=intent)
    except GatewayError as error:
        messages.error(request, f"The LLM could not write examples: {error}")
    else:
        if added:
            messages.success(
                request, f"{len(added)} example utterances written; the NLU is training."
            )
        else:
            messages.error(
                request,
                "The LLM's examples all repeated existing ones or sounded like other intents; "
                "try again or write a few yourself.",
            )
    return redirect("intent-detail", pk=pk)
