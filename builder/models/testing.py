"""Test suites creators write without code: conversation tests (user turns with what the
assistant must understand, do and say) and prompt tests (cases of input values with checks on
the output, run against one or several models, several times each)."""

from __future__ import annotations

from django.db import models

from builder.models.assistants import Assistant
from builder.models.prompts import Prompt, PromptVersion


class SuiteRunStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


DEFAULT_SUITE = "default"


class ConversationTest(models.Model):
    """A scripted conversation with the draft assistant: user turns, each with expectations on
    how it was understood and answered (see ``builder.services.conversation_tests``)."""

    assistant = models.ForeignKey(
        Assistant, on_delete=models.CASCADE, related_name="conversation_tests"
    )
    name = models.CharField(max_length=200)
    suite = models.CharField(max_length=64, default=DEFAULT_SUITE)
    # [{"user": "hi", "button": false, "expect": [{"kind": "intent", "value": "greet"}, ...]}]
    turns = models.JSONField(default=list)
    # Saved from a conversation (test panel or production transcript).
    source_conversation = models.ForeignKey(
        "runtime.Conversation", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["suite", "name", "id"]

    def __str__(self) -> str:
        return self.name


class SuiteRun(models.Model):
    """A background run of test cases: its progress while it runs, its report after."""

    status = models.CharField(
        max_length=16, choices=SuiteRunStatus.choices, default=SuiteRunStatus.QUEUED
    )
    stage = models.CharField(max_length=64, blank=True)
    progress = models.FloatField(default=0.0)
    error = models.TextField(blank=True)
    report = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # Saved with each progress report while running: a run whose worker died stops beating.
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    member_role: str | None  # the requesting user's role, annotated by member_rows()

    class Meta:
        abstract = True
        ordering = ["-created_at", "-id"]


class ConversationTestRun(SuiteRun):
    """One run of an assistant's conversation tests (one suite or all) on its draft."""

    assistant = models.ForeignKey(
        Assistant, on_delete=models.CASCADE, related_name="conversation_test_runs"
    )
    suite = models.CharField(max_length=64, blank=True)  # empty: every suite

    def __str__(self) -> str:
        return f"Conversation tests of {self.assistant} ({self.status})"

    @property
    def passed(self) -> bool:
        return self.report is not None and not self.report["failed"]


class PromptTestCase(models.Model):
    """Input values for a prompt and the checks its output must pass (see
    ``builder.services.prompt_tests`` for the kinds of check)."""

    prompt = models.ForeignKey(Prompt, on_delete=models.CASCADE, related_name="test_cases")
    name = models.CharField(max_length=200)
    values = models.JSONField(default=dict)  # {variable: value}
    checks = models.JSONField(default=list)  # [{"kind": "contains", "value": "refund"}, ...]
    # A backtest: the production call whose failure it replays.
    source_call = models.ForeignKey(
        "gateway.Call", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["prompt_id", "id"]

    def __str__(self) -> str:
        return self.name


class PromptTestRun(SuiteRun):
    """A prompt version's test cases, run ``repetitions`` times against each model: pass rates
    expose the failures one lucky run hides."""

    version = models.ForeignKey(PromptVersion, on_delete=models.CASCADE, related_name="test_runs")
    model_keys = models.JSONField(default=list)  # catalogue keys; empty: the version's own
    repetitions = models.PositiveSmallIntegerField(default=1)

    def __str__(self) -> str:
        return f"Tests of {self.version} ({self.status})"
