"""The prompts of an assistant and their versions (a saved version never changes)."""

from __future__ import annotations

import json

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from builder import services
from builder.forms import PromptForm, PromptTestCaseForm, PromptTestRunForm, submit
from core.api.access import query_id
from core.models import Prompt, can_edit, member_rows
from core.pages import AuthenticatedRequest, member_assistant
from gateway.catalogue import default_model
from gateway.models import LlmModel
from quality.models import PromptTestRun
from quality.services.backtests import backtest_case_create, backtests
from quality.services.prompt_checks import check_lines, check_text
from quality.services.prompt_tests import prompt_test_case_create, prompt_tests_request


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
        "output_schema": data["output_schema"],
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
            "output_schema": json.dumps(latest.output_schema, indent=1)
            if latest.output_schema
            else "",
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
            "cases": [
                (case, [check_text(check) for check in case.checks])
                for case in prompt.test_cases.all()
            ],
            "case_form": PromptTestCaseForm(),
            "run_form": PromptTestRunForm(models=_models()),
            "runs": PromptTestRun.objects.filter(version__prompt=prompt).select_related("version")[
                :10
            ],
            "backtests": backtests(prompt, limit=20),
        },
    )


@login_required
@require_POST
def prompt_tests(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    """Add or delete a test case, or start a run of them on the latest version."""
    prompt = get_object_or_404(Prompt.objects.for_member(request.user), pk=pk)
    if not can_edit(prompt.member_role):
        return HttpResponse("Viewers cannot change prompt tests.", status=403)
    action = request.POST.get("action")
    if action == "delete":
        case = request.POST.get("case", "")
        prompt.test_cases.filter(pk=query_id(case)).delete()
        messages.success(request, "Test case deleted.")
        return redirect("prompt-detail", pk=pk)
    if action == "backtest":
        try:
            replay = backtest_case_create(prompt=prompt, call_id=request.POST.get("call", ""))
        except (ValidationError, ValueError):
            messages.error(request, "No such call of this prompt.")
        else:
            messages.success(request, f"Test case “{replay.name}” added.")
        return redirect("prompt-detail", pk=pk)
    if action == "add":
        form: PromptTestCaseForm | PromptTestRunForm = PromptTestCaseForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                checks = check_lines(data["checks"])
                prompt_test_case_create(
                    prompt=prompt, name=data["name"], values=data["values"], checks=checks
                )
            except ValidationError as error:
                messages.error(request, " ".join(error.messages))
            else:
                messages.success(request, f"Test case “{data['name']}” added.")
        else:
            messages.error(request, _form_errors(form))
        return redirect("prompt-detail", pk=pk)
    form = PromptTestRunForm(request.POST, models=_models())
    version = prompt.versions.first()
    if version is None or not form.is_valid():
        messages.error(request, _form_errors(form) if version else "Save a version first.")
        return redirect("prompt-detail", pk=pk)
    try:
        run = prompt_tests_request(
            version=version,
            model_keys=form.cleaned_data["models"],
            repetitions=form.cleaned_data["repetitions"],
        )
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect("prompt-detail", pk=pk)
    return redirect("prompt-test-run", pk=run.pk)


def _form_errors(form: forms.Form) -> str:
    return " ".join(
        " ".join(str(error) for error in errors)
        if name == "__all__"
        else f"{name}: " + " ".join(str(error) for error in errors)
        for name, errors in form.errors.items()
    )


@login_required
def prompt_test_run(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    rows = PromptTestRun.objects.select_related("version__prompt__assistant")
    run = get_object_or_404(
        member_rows(rows, request.user, assistant="version__prompt__assistant"), pk=pk
    )
    prompt = run.version.prompt
    return render(
        request,
        "builder/prompt_test_run.html",
        {"assistant": prompt.assistant, "prompt": prompt, "run": run, "report": run.report},
    )
