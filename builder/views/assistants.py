from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render

from builder import services
from builder.forms import AssistantEditForm, PublishForm, submit
from core.models import can_edit
from core.pages import AuthenticatedRequest, member_assistant


@login_required
def assistant_detail(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    assistant = member_assistant(request, pk)
    context = {
        "assistant": assistant,
        "can_edit": can_edit(assistant.member_role),
        "versions": assistant.versions.all()[:20],
        "training": assistant.training_runs.first(),
        "publish_form": PublishForm(),
        "counts": {
            "intents": assistant.intents.count(),
            "entities": assistant.entities.count(),
            "flows": assistant.flows.count(),
        },
    }
    return render(request, "builder/assistant_detail.html", context)


@login_required
def assistant_edit(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    assistant = member_assistant(request, pk, edit=True)
    initial = {
        "name": assistant.name,
        "description": assistant.description,
        "language": assistant.language,
        "allowed_origins": "\n".join(assistant.allowed_origins),
        "hybrid_enabled": assistant.hybrid_enabled,
        "hybrid_low": assistant.hybrid_low,
        "hybrid_high": assistant.hybrid_high,
        "nlu_threshold": assistant.nlu_threshold,
        "nlu_mode": assistant.nlu_mode,
    }
    form = AssistantEditForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        names = (
            "name",
            "description",
            "language",
            "hybrid_enabled",
            "hybrid_low",
            "hybrid_high",
            "nlu_threshold",
            "nlu_mode",
        )
        fields = {key: form.cleaned_data[key] for key in names}
        fields["nlu_mode"] = fields["nlu_mode"] or None  # not posted: unchanged
        saved = submit(
            form,
            services.assistant_update,
            assistant=assistant,
            allowed_origins=form.origins(),
            **fields,
        )
        if saved:
            messages.success(request, "Assistant saved.")
            return redirect("assistant-detail", pk=assistant.pk)
    return render(request, "builder/assistant_form.html", {"assistant": assistant, "form": form})


@login_required
def assistant_delete(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    assistant = member_assistant(request, pk, edit=True)
    if request.method == "POST":
        services.assistant_delete(assistant=assistant)
        messages.success(request, f"Assistant “{assistant.name}” deleted.")
        return redirect("workspace-detail", pk=assistant.workspace_id)
    return render(request, "builder/assistant_confirm_delete.html", {"assistant": assistant})
