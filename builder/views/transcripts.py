"""Transcripts: an assistant's conversations, found by what was said, and each read back."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, render

from core.models import can_edit, member_rows
from core.pages import AuthenticatedRequest, member_assistant
from runtime.models import Channel, Conversation
from runtime.transcripts import conversations_find, transcript

PATHS = (
    "global-intent",
    "step-intent",
    "capture",
    "button",
    "no-match",
    "knowledge",
    "fallback",
    "reprompt",
)


@login_required
def transcript_list(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    assistant = member_assistant(request, pk)
    text = request.GET.get("q", "")[:200]
    channel = request.GET.get("channel", "")
    path = request.GET.get("path", "")
    found = conversations_find(
        assistant,
        text=text,
        channel=channel if channel in Channel.values else "",
        path=path if path in PATHS else "",
    )
    page = Paginator(found, 50).get_page(request.GET.get("page"))
    return render(
        request,
        "runtime/transcript_list.html",
        {
            "assistant": assistant,
            "page": page,
            "q": text,
            "channel": channel,
            "path": path,
            "channels": Channel.choices,
            "paths": PATHS,
        },
    )


@login_required
def transcript_detail(request: AuthenticatedRequest, pk: str) -> HttpResponse:
    conversation = get_object_or_404(
        member_rows(Conversation.objects.select_related("assistant__workspace"), request.user),
        pk=pk,
    )
    assistant = conversation.assistant
    return render(
        request,
        "runtime/transcript_detail.html",
        {
            "assistant": assistant,
            "conversation": conversation,
            "lines": transcript(conversation),
            "can_edit": can_edit(conversation.member_role),
        },
    )
