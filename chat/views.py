"""The page that hosts the web chat widget of the demo assistant, as a site owner would embed it."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from core.demo import demo_assistant


def demo(request: HttpRequest) -> HttpResponse:
    """A public page with the widget of the demo assistant, as a site owner would embed it."""
    assistant = demo_assistant()
    if assistant is None or assistant.published_version_id is None:
        raise Http404("No demo assistant yet: run `python manage.py seed_demo`.")
    return render(request, "runtime/demo.html", {"assistant": assistant})
