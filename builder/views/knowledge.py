"""The knowledge-base page of an assistant: documents with their status, settings, and a box to try
a question (a script over the REST API; everything else works without scripts)."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render

from builder.forms import submit
from core.models import can_edit, member_rows
from core.pages import AuthenticatedRequest, member_assistant
from knowledge.models import Document, KnowledgeBase
from knowledge.services import (
    document_delete,
    document_link,
    document_refresh,
    document_upload,
    knowledge_base_of,
    knowledge_base_update,
)


class SettingsForm(forms.ModelForm):
    class Meta:
        model = KnowledgeBase
        fields = ["top_k", "min_score", "fusion", "chunk_tokens", "overlap_tokens"]


class LinkForm(forms.Form):
    url = forms.URLField(max_length=2000, label="Page URL", assume_scheme="https")
    refresh_hours = forms.IntegerField(
        required=False, min_value=1, label="Fetch again every (hours)", help_text="Empty: once."
    )
    tags = forms.CharField(required=False, help_text="Comma-separated, for filtering.")


def _tags(text: str) -> list[str]:
    return [tag.strip() for tag in text.split(",") if tag.strip()]


@login_required
def knowledge_base(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    assistant = member_assistant(request, pk, edit=request.method == "POST")
    kb = knowledge_base_of(assistant)
    action = request.POST.get("action")
    settings_form = SettingsForm(request.POST if action == "settings" else None, instance=kb)
    link_form = LinkForm(request.POST if action == "link" else None)
    if action == "upload":
        _upload(request, kb)
        return redirect("knowledge-base", pk=pk)
    if action == "settings" and settings_form.is_valid():
        changes = {name: settings_form.cleaned_data[name] for name in settings_form.changed_data}
        kb.refresh_from_db()  # the form wrote its values into ``kb``; the service compares
        if submit(settings_form, knowledge_base_update, kb=kb, **changes) is not None:
            messages.success(request, "Settings saved.")
            return redirect("knowledge-base", pk=pk)
    if action == "link" and link_form.is_valid():
        data = link_form.cleaned_data
        document = submit(
            link_form,
            document_link,
            kb=kb,
            url=data["url"],
            refresh_hours=data["refresh_hours"],
            tags=_tags(data["tags"]),
        )
        if document is not None:
            messages.success(request, f"Fetching {document.name} …")
            return redirect("knowledge-base", pk=pk)
    if action in ("delete", "refresh"):
        document = get_object_or_404(kb.documents, pk=request.POST.get("document"))
        if action == "delete":
            document_delete(document)
            messages.success(request, f"“{document.name}” deleted.")
        else:
            document_refresh(document)
            messages.success(request, f"Reading “{document.name}” again …")
        return redirect("knowledge-base", pk=pk)
    return render(
        request,
        "knowledge/knowledge_base.html",
        {
            "assistant": assistant,
            "kb": kb,
            "documents": kb.documents.defer("content"),
            "settings_form": settings_form,
            "link_form": link_form,
            "can_edit": can_edit(assistant.member_role),
        },
    )


def _upload(request: AuthenticatedRequest, kb: KnowledgeBase) -> None:
    files = request.FILES.getlist("files")
    if not files:
        messages.error(request, "Choose at least one file to upload.")
        return
    tags = _tags(request.POST.get("tags", ""))
    for upload in files:
        try:
            document_upload(kb, name=upload.name or "upload", data=upload.read(), tags=tags)
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(request, f"“{upload.name}” uploaded; reading it …")


@login_required
def document_detail(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    rows = Document.objects.select_related("knowledge_base__assistant__workspace").defer("content")
    document = get_object_or_404(
        member_rows(rows, request.user, assistant="knowledge_base__assistant"), pk=pk
    )
    assistant = document.knowledge_base.assistant
    return render(
        request,
        "knowledge/document_detail.html",
        {"assistant": assistant, "document": document, "chunks": document.chunks.all()},
    )
