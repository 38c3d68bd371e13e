"""Pages where a creator designs an assistant: intents, entities, and the flow with its test chat.

The flow canvas and the test chat are scripts over the REST API and the test-chat socket; the
intent and entity pages are plain forms that work without scripts.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render

from builder import services
from builder.forms import (
    DescriptionForm,
    EntityForm,
    IntentForm,
    RequiredEntitiesForm,
    UtterancesForm,
    submit,
)
from builder.services.analysis import latest_analysis
from builder.services.checks import pretrain_checks
from builder.services.nlu_transfer import rasa_example
from builder.services.suggestions import synthesis_request
from builder.services.usages import entity_uses_by_name
from builder.views.language import conflict_rows
from core.models import Intent, can_edit, member_rows
from core.pages import AuthenticatedRequest, member_assistant


def _lines(text: str) -> list[dict[str, Any]]:
    """Utterances typed one per line, with Rasa-style ``[words](entity)`` annotations."""
    return [rasa_example(line.strip()) for line in text.splitlines() if line.strip()]


def _regression(assistant: Any) -> dict[str, Any] | None:
    """How the latest trained draft compares with the published model, if that was measured."""
    run = assistant.training_runs.filter(status="done").only("metrics").first()
    return None if run is None else run.metrics.get("regression")


@login_required
def intent_list(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    assistant = member_assistant(request, pk, edit=request.method == "POST")
    form = IntentForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            utterances = _lines(data["utterances"])
        except ValidationError as error:
            form.add_error("utterances", error)
        else:
            intent = submit(
                form,
                services.intent_create,
                assistant=assistant,
                name=data["name"],
                description=data["description"],
                utterances=utterances,
            )
            if intent is not None:
                if data["synthesise"] and not utterances:
                    synthesis_request(intent=intent)
                    messages.success(
                        request,
                        f"Intent “{intent.name}” created; the LLM is writing its first examples.",
                    )
                else:
                    messages.success(
                        request, f"Intent “{intent.name}” created; the NLU is training."
                    )
                return redirect("intent-detail", pk=intent.pk)
    intents = list(assistant.intents.annotate(utterance_count=Count("utterances")).order_by("name"))
    analysis, current = latest_analysis(assistant)
    for intent in intents:
        intent.clarity = (analysis or {}).get("intents", {}).get(intent.name)  # type: ignore[attr-defined]
    return render(
        request,
        "builder/intent_list.html",
        {
            "assistant": assistant,
            "intents": intents,
            "form": form,
            "entities": assistant.entities.order_by("name"),
            "checks": pretrain_checks(assistant),
            "regression": _regression(assistant),
            "analysis": analysis,
            "analysis_current": current,
            "conflicts": conflict_rows(assistant, analysis),
            "can_edit": can_edit(assistant.member_role),
        },
    )


@login_required
def intent_detail(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    intent = get_object_or_404(
        member_rows(Intent.objects.select_related("assistant__workspace"), request.user), pk=pk
    )
    assistant = intent.assistant
    editable = can_edit(intent.member_role)
    add_form = UtterancesForm(request.POST if request.POST.get("action") == "add" else None)
    describe_form = DescriptionForm(
        request.POST if request.POST.get("action") == "describe" else None,
        initial={"description": intent.description},
    )
    required_text = "\n".join(f"{r['entity']}: {r['prompt']}" for r in intent.required_entities)
    required_form = RequiredEntitiesForm(
        request.POST if request.POST.get("action") == "require" else None,
        initial={"required": required_text},
    )
    if request.method == "POST":
        if not editable:
            raise PermissionDenied("Viewers cannot change intents.")
        action = request.POST.get("action")
        if action == "require" and required_form.is_valid():
            saved = submit(
                required_form,
                services.intent_update,
                intent=intent,
                required_entities=required_form.required_entities(),
            )
            if saved is not None:
                messages.success(request, "Required entities saved.")
                return redirect("intent-detail", pk=intent.pk)
        if action == "add" and add_form.is_valid():
            try:
                lines = _lines(add_form.cleaned_data["utterances"])
            except ValidationError as error:
                add_form.add_error("utterances", error)
            else:
                added = submit(add_form, services.utterances_add, intent=intent, utterances=lines)
                if added is not None:
                    messages.success(
                        request, f"{len(added)} utterance(s) added; the NLU is training."
                    )
                    return redirect("intent-detail", pk=intent.pk)
        elif action == "describe" and describe_form.is_valid():
            services.intent_update(
                intent=intent, description=describe_form.cleaned_data["description"]
            )
            messages.success(request, "Description saved.")
            return redirect("intent-detail", pk=intent.pk)
        elif action == "remove":
            utterance = get_object_or_404(intent.utterances, pk=request.POST.get("utterance"))
            services.utterance_delete(utterance=utterance)
            return redirect("intent-detail", pk=intent.pk)
        elif action == "delete":
            try:
                services.intent_delete(intent=intent)
            except ValidationError as error:
                messages.error(request, " ".join(error.messages))
                return redirect("intent-detail", pk=intent.pk)
            messages.success(request, f"Intent “{intent.name}” deleted.")
            return redirect("intent-list", pk=assistant.pk)
    search = request.GET.get("q", "").strip()
    utterances = intent.utterances.all()
    if search:
        utterances = utterances.filter(text__icontains=search)
    analysis, _ = latest_analysis(assistant)
    return render(
        request,
        "builder/intent_detail.html",
        {
            "assistant": assistant,
            "intent": intent,
            "utterances": [(u, _marked(u.text, u.entities)) for u in utterances],
            "clarity": (analysis or {}).get("intents", {}).get(intent.name),
            "other_intents": assistant.intents.exclude(pk=intent.pk).order_by("name"),
            "add_form": add_form,
            "describe_form": describe_form,
            "required_form": required_form,
            "entities": assistant.entities.order_by("name"),
            "search": search,
            "can_edit": editable,
        },
    )


def _marked(text: str, spans: list[dict[str, Any]]) -> list[tuple[str, str | None]]:
    """The text in pieces, each with the entity it is annotated as (or None)."""
    pieces: list[tuple[str, str | None]] = []
    position = 0
    for span in sorted(spans, key=lambda s: s["start"]):
        pieces.append((text[position : span["start"]], None))
        pieces.append((text[span["start"] : span["end"]], span["entity"]))
        position = span["end"]
    pieces.append((text[position:], None))
    return [piece for piece in pieces if piece[0]]


@login_required
def entity_list(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    assistant = member_assistant(request, pk, edit=request.method == "POST")
    form = EntityForm(request.POST or None if request.POST.get("action") != "delete" else None)
    if request.method == "POST" and request.POST.get("action") == "delete":
        doomed = get_object_or_404(assistant.entities, pk=request.POST.get("entity"))
        try:
            services.entity_delete(entity=doomed)
            messages.success(request, f"Entity “{doomed.name}” deleted.")
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        return redirect("entity-list", pk=assistant.pk)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        entity = submit(
            form,
            services.entity_create,
            assistant=assistant,
            name=data["name"],
            kind=data["kind"],
            values=form.entity_values(),
            pattern=data["pattern"],
            builtin=data["builtin"],
        )
        if entity is not None:
            messages.success(request, f"Entity “{entity.name}” created.")
            return redirect("entity-list", pk=assistant.pk)
    entities = list(assistant.entities.order_by("name"))
    uses = entity_uses_by_name(assistant)
    for entity in entities:
        entity.used_in = [str(use) for use in uses.get(entity.name, [])]  # type: ignore[attr-defined]
    return render(
        request,
        "builder/entity_list.html",
        {
            "assistant": assistant,
            "entities": entities,
            "form": form,
            "can_edit": can_edit(assistant.member_role),
        },
    )


@login_required
def flow_editor(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    assistant = member_assistant(request, pk)
    flow = assistant.flows.order_by("id").first()
    design = {
        "assistant": assistant.pk,
        "flow": {"id": flow.pk, "name": flow.name, "graph": flow.graph} if flow else None,
        "intents": list(assistant.intents.order_by("name").values_list("name", flat=True)),
        "entities": list(assistant.entities.order_by("name").values_list("name", flat=True)),
        "prompts": [{"id": p.pk, "name": p.name} for p in assistant.prompts.order_by("name")],
        "canEdit": can_edit(assistant.member_role),
    }
    training = assistant.training_runs.first()
    return render(
        request,
        "builder/flow_editor.html",
        {"assistant": assistant, "design": design, "training": training},
    )
