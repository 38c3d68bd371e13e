"""Pages of conversation tests: the assistant's suites and runs, writing and editing a test,
saving a conversation as one, and a run's results with the differences of failing replies."""

from __future__ import annotations

import re
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from core.models import DEFAULT_SUITE, ConversationTest, can_edit, member_rows
from core.pages import AuthenticatedRequest, member_assistant
from quality.models import ConversationTestRun, SuiteRunStatus
from quality.services.conversation_tests import (
    KINDS,
    conversation_test_create,
    conversation_test_from_conversation,
    conversation_test_update,
    conversation_tests_request,
    suites,
)

FIELD = re.compile(r"^turn-(\d+)-(user|button|expect-(\d+)-(kind|name|value))$")


@login_required
def test_suite(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    """The assistant's tests by suite and its latest runs; POST starts a run or sets whether
    publishing requires the tests to pass."""
    assistant = member_assistant(request, pk)
    if request.method == "POST":
        member_assistant(request, pk, edit=True)
        if request.POST.get("action") == "require":
            assistant.publish_requires_tests = request.POST.get("required") == "on"
            assistant.save(update_fields=["publish_requires_tests", "updated_at"])
            messages.success(
                request,
                "Publishing now requires the conversation tests to pass."
                if assistant.publish_requires_tests
                else "Publishing no longer runs the conversation tests.",
            )
            return redirect("test-suite", pk=pk)
        try:
            run = conversation_tests_request(
                assistant=assistant, suite=request.POST.get("suite", "")[:64]
            )
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
            return redirect("test-suite", pk=pk)
        return redirect("conversation-test-run", pk=run.pk)
    tests = list(assistant.conversation_tests.all())
    return render(
        request,
        "builder/test_suite.html",
        {
            "assistant": assistant,
            "tests": tests,
            "suites": suites(assistant),
            "runs": assistant.conversation_test_runs.all()[:10],
            "can_edit": can_edit(assistant.member_role),
        },
    )


def posted_turns(data: Any) -> list[dict[str, Any]]:
    """Turns from the editor's fields (``turn-N-user``, ``turn-N-expect-M-kind``…), in the
    order of N and M; expectations without a kind and trailing empty turns are left out."""
    turns: dict[int, dict[str, Any]] = {}
    for key in data:
        match = FIELD.match(key)
        if match is None:
            continue
        turn = turns.setdefault(int(match[1]), {"user": "", "button": False, "expect": {}})
        if match[2] == "user":
            turn["user"] = data.get(key, "")
        elif match[2] == "button":
            turn["button"] = data.get(key) == "on"
        else:
            turn["expect"].setdefault(int(match[3]), {})[match[4]] = data.get(key, "")
    ordered = []
    for _, turn in sorted(turns.items()):
        expect = [e for _, e in sorted(turn["expect"].items()) if e.get("kind")]
        ordered.append({**turn, "expect": expect})
    while ordered and not ordered[-1]["user"].strip() and not ordered[-1]["expect"]:
        ordered.pop()
    return ordered


def _editor(
    request: AuthenticatedRequest,
    assistant: Any,
    test: ConversationTest | None,
    values: dict[str, Any],
    errors: list[str],
) -> HttpResponse:
    return render(
        request,
        "builder/test_edit.html",
        {
            "assistant": assistant,
            "test": test,
            "values": values,
            "errors": errors,
            "kinds": KINDS.items(),
            "suites": suites(assistant),
            "can_edit": can_edit(assistant.member_role),
        },
        status=400 if errors else 200,
    )


def _save(
    request: AuthenticatedRequest, assistant: Any, test: ConversationTest | None
) -> HttpResponse:
    values: dict[str, Any] = {
        "name": request.POST.get("name", ""),
        "suite": request.POST.get("suite", "") or DEFAULT_SUITE,
        "turns": posted_turns(request.POST),
    }
    try:
        if test is None:
            test = conversation_test_create(assistant=assistant, **values)
        else:
            conversation_test_update(test, **values)
    except ValidationError as error:
        return _editor(request, assistant, test, values, error.messages)
    messages.success(request, f"Test “{test.name}” saved.")
    return redirect("conversation-test-edit", pk=test.pk)


@login_required
def conversation_test_new(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    assistant = member_assistant(request, pk)
    if request.method == "POST":
        return _save(request, member_assistant(request, pk, edit=True), None)
    values = {"name": "", "suite": DEFAULT_SUITE, "turns": []}
    return _editor(request, assistant, None, values, [])


@login_required
def conversation_test_edit(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    rows = member_rows(
        ConversationTest.objects.select_related("assistant__workspace"), request.user
    )
    test = get_object_or_404(rows, pk=pk)
    assistant = test.assistant
    assistant.member_role = test.member_role
    if request.method == "POST":
        if not can_edit(test.member_role):
            raise PermissionDenied("Viewers cannot change tests.")
        if request.POST.get("action") == "delete":
            test.delete()
            messages.success(request, f"Test “{test.name}” deleted.")
            return redirect("test-suite", pk=assistant.pk)
        return _save(request, assistant, test)
    values = {"name": test.name, "suite": test.suite, "turns": test.turns}
    return _editor(request, assistant, test, values, [])


@login_required
@require_POST
def conversation_test_save(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    """Save a conversation of the assistant (test panel or transcript) as a test, then edit it."""
    assistant = member_assistant(request, pk, edit=True)
    try:
        test = conversation_test_from_conversation(
            assistant=assistant, conversation_id=request.POST.get("conversation", "")
        )
    except ValidationError as error:
        messages.error(request, "Not saved: " + " ".join(error.messages))
        return redirect("test-suite", pk=pk)
    messages.success(request, f"Saved as the test “{test.name}”: check what it expects.")
    return redirect("conversation-test-edit", pk=test.pk)


@login_required
def conversation_test_run(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    rows = member_rows(
        ConversationTestRun.objects.select_related("assistant__workspace"), request.user
    )
    run = get_object_or_404(rows, pk=pk)
    return render(
        request,
        "builder/test_run.html",
        {
            "assistant": run.assistant,
            "run": run,
            "report": run.report,
            "pending": run.status in (SuiteRunStatus.QUEUED, SuiteRunStatus.RUNNING),
        },
    )
