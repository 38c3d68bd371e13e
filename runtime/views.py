"""Pages of the runtime: the demo page that hosts the web chat widget, and transcripts."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render

from builder.demo import DEMO_ASSISTANT, DEMO_USERNAME, DEMO_WORKSPACE
from builder.models import Assistant, can_edit, member_rows
from builder.views.access import AuthenticatedRequest, member_assistant
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


def demo(request: HttpRequest) -> HttpResponse:
    """A public page with the widget of the demo assistant, as a site owner would embed it."""
    assistant = Assistant.objects.filter(
        name=DEMO_ASSISTANT,
        workspace__name=DEMO_WORKSPACE,
        workspace__memberships__user__username=DEMO_USERNAME,
    ).first()
    if assistant is None or assistant.published_version_id is None:
        raise Http404("No demo assistant yet: run `python manage.py seed_demo`.")
    return render(request, "runtime/demo.html", {"assistant": assistant})


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
