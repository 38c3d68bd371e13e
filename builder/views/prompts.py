"""The prompts of an assistant and their versions (a saved version never changes)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render

from builder import services
from builder.forms import PromptForm, submit
from builder.models import Prompt, can_edit
from builder.views.access import AuthenticatedRequest, member_assistant
from gateway.catalogue import default_model
from gateway.models import LlmModel


def _models() -> list[str]:
    default_model()  # the catalogue's starting rows exist
    return list(LlmModel.objects.order_by("key").values_list("key", flat=True))


def _version_fields(form: PromptForm) -> dict[str, object]:
    data = form.cleaned_data
    model = LlmModel.objects.filter(key=data["model"]).first() if data["model"] else None
    return {
        "system": data["system"],
        "template": data["template"],
        "model": model,
        "temperature": data["temperature"],
        "max_tokens": data["max_tokens"],
        "notes": data["notes"],
    }


@login_required
def prompt_list(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    assistant = member_assistant(request, pk, edit=request.method == "POST")
    form = PromptForm(request.POST or None, models=_models())
    if request.method == "POST" and form.is_valid():
        prompt = submit(
            form,
            services.prompt_create,
            assistant=assistant,
            name=form.cleaned_data["name"],
            **_version_fields(form),
        )
        if prompt is not None:
            messages.success(request, f"Prompt “{prompt.name}” saved as version 1.")
            return redirect("prompt-detail", pk=prompt.pk)
    return render(
        request,
        "builder/prompt_list.html",
        {
            "assistant": assistant,
            "prompts": assistant.prompts.prefetch_related("versions"),
            "form": form,
            "can_edit": can_edit(assistant.member_role),
        },
    )


@login_required
def prompt_detail(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    prompt = get_object_or_404(Prompt.objects.for_member(request.user), pk=pk)
    editable = can_edit(prompt.member_role)
    versions = list(prompt.versions.select_related("model"))
    latest = versions[0] if versions else None
    initial: dict[str, object] = {"name": prompt.name}
    if latest is not None:
        initial |= {
            "system": latest.system,
            "template": latest.template,
            "model": latest.model.key if latest.model else "",
            "temperature": latest.temperature,
            "max_tokens": latest.max_tokens,
        }
    form = PromptForm(request.POST or None, initial=initial, models=_models())
    form.fields["name"].disabled = True
    if request.method == "POST":
        if not editable:
            return HttpResponse("Viewers cannot change prompts.", status=403)
        if form.is_valid():
            version = submit(
                form, services.prompt_version_create, prompt=prompt, **_version_fields(form)
            )
            if version is not None:
                messages.success(request, f"Saved as version {version.number}.")
                return redirect("prompt-detail", pk=prompt.pk)
    return render(
        request,
        "builder/prompt_detail.html",
        {
            "assistant": prompt.assistant,
            "prompt": prompt,
            "versions": versions,
            "form": form,
            "can_edit": editable,
        },
    )
