"""Pages of the runtime: the demo page that hosts the web chat widget."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from builder.demo import DEMO_ASSISTANT, DEMO_USERNAME, DEMO_WORKSPACE
from builder.models import Assistant


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
