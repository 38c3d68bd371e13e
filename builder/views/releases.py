"""Publishing, rolling back, and moving assistants and NLU data in and out, from the pages."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from builder import services
from builder.forms import AssistantImportForm, NluImportForm, PublishForm
from builder.services.versions import SuiteFailed
from core.pages import AuthenticatedRequest, member_assistant, member_workspace

MAX_UPLOAD_BYTES = 10_000_000


@login_required
@require_POST
def assistant_publish(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    assistant = member_assistant(request, pk, edit=True)
    form = PublishForm(request.POST)
    notes = form.cleaned_data["notes"] if form.is_valid() else ""
    try:
        version = services.assistant_publish(assistant=assistant, notes=notes)
    except SuiteFailed as failed:
        messages.error(request, "Not published: " + " ".join(failed.messages))
        return redirect("conversation-test-run", pk=failed.run.pk)
    except ValidationError as error:
        messages.error(request, "Not published: " + " ".join(error.messages))
    else:
        messages.success(request, f"Version {version.number} is live.")
    return redirect("assistant-detail", pk=assistant.pk)


@login_required
@require_POST
def assistant_rollback(request: AuthenticatedRequest, pk: int, number: int) -> HttpResponse:
    assistant = member_assistant(request, pk, edit=True)
    version = get_object_or_404(assistant.versions, number=number)
    services.assistant_rollback(assistant=assistant, version=version)
    messages.success(request, f"Version {version.number} is live again.")
    return redirect("assistant-detail", pk=assistant.pk)


@login_required
def assistant_download(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    """The whole assistant as a file: JSON, or a zip archive when it has document files."""
    export = services.assistant_export_file(member_assistant(request, pk))
    response = HttpResponse(export.data, content_type=export.content_type)
    response["Content-Disposition"] = f'attachment; filename="{export.filename}"'
    return response


@login_required
def nlu_download(request: AuthenticatedRequest, pk: int, kind: str) -> HttpResponse:
    assistant = member_assistant(request, pk)
    if kind == "csv":
        response = HttpResponse(services.nlu_export_csv(assistant), content_type="text/csv")
        response["Content-Disposition"] = f'attachment; filename="nlu-{assistant.pk}.csv"'
    else:
        response = HttpResponse(
            services.nlu_export_rasa(assistant), content_type="application/yaml"
        )
        response["Content-Disposition"] = f'attachment; filename="nlu-{assistant.pk}.yml"'
    return response


def _text_of(upload: object) -> str:
    data = upload.read(MAX_UPLOAD_BYTES + 1)  # type: ignore[attr-defined]
    if len(data) > MAX_UPLOAD_BYTES:
        raise ValidationError(f"Upload at most {MAX_UPLOAD_BYTES // 1_000_000} MB.")
    try:
        return str(data.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise ValidationError("The file is not UTF-8 text.") from None


@login_required
def nlu_import(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    assistant = member_assistant(request, pk, edit=True)
    form = NluImportForm(request.POST or None, request.FILES or None)
    report = None
    if request.method == "POST" and form.is_valid():
        try:
            text = _text_of(form.cleaned_data["file"])
            if form.cleaned_data["kind"] == "csv":
                report = services.nlu_import_csv(assistant=assistant, text=text)
            else:
                report = services.nlu_import_rasa(assistant=assistant, text=text)
        except ValidationError as error:
            form.add_error("file", " ".join(error.messages))
    return render(
        request,
        "builder/nlu_import.html",
        {"assistant": assistant, "form": form, "report": report},
    )


@login_required
def assistant_import(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    """Import an exported assistant (JSON or zip archive), then report what did not come along."""
    workspace = member_workspace(request, pk, edit=True)
    form = AssistantImportForm(request.POST or None, request.FILES or None)
    imported = None
    if request.method == "POST" and form.is_valid():
        try:
            imported = services.assistant_import_file(
                workspace=workspace,
                upload=form.cleaned_data["file"],
                name=form.cleaned_data["name"] or None,
            )
        except ValidationError as error:
            for message in error.messages:
                form.add_error("file", message)
    return render(
        request,
        "builder/assistant_import.html",
        {"workspace": workspace, "form": form, "imported": imported},
    )
