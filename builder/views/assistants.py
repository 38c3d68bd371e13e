from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from builder import services
from builder.forms import AssistantForm
from builder.models import can_edit
from builder.views.access import member_assistant


@login_required
def assistant_detail(request: HttpRequest, pk: int) -> HttpResponse:
    assistant = member_assistant(request, pk)
    context = {"assistant": assistant, "can_edit": can_edit(assistant.member_role)}
    return render(request, "builder/assistant_detail.html", context)


@login_required
def assistant_edit(request: HttpRequest, pk: int) -> HttpResponse:
    assistant = member_assistant(request, pk, edit=True)
    initial = {
        "name": assistant.name,
        "description": assistant.description,
        "language": assistant.language,
    }
    form = AssistantForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.assistant_update(assistant=assistant, **form.cleaned_data)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, "Assistant saved.")
            return redirect("assistant-detail", pk=assistant.pk)
    return render(request, "builder/assistant_form.html", {"assistant": assistant, "form": form})


@login_required
def assistant_delete(request: HttpRequest, pk: int) -> HttpResponse:
    assistant = member_assistant(request, pk, edit=True)
    if request.method == "POST":
        services.assistant_delete(assistant=assistant)
        messages.success(request, f"Assistant “{assistant.name}” deleted.")
        return redirect("workspace-detail", pk=assistant.workspace_id)
    return render(request, "builder/assistant_confirm_delete.html", {"assistant": assistant})
