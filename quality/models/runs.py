"""Runs of the test cases creators write (see ``core.models.testing``): their progress while
they run, their report after."""

from __future__ import annotations

from django.db import models

from core.models import Assistant, Job, PromptVersion


class SuiteRunStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


class SuiteRun(Job):
    """A background run of test cases: its progress while it runs, its report after."""

    status = models.CharField(
        max_length=16, choices=SuiteRunStatus.choices, default=SuiteRunStatus.QUEUED
    )
    report = models.JSONField(null=True, blank=True)
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

    class Meta(SuiteRun.Meta):
        db_table = "builder_conversationtestrun"  # named when it lived in builder

    def __str__(self) -> str:
        return f"Conversation tests of {self.assistant} ({self.status})"

    @property
    def passed(self) -> bool:
        return self.report is not None and not self.report["failed"]


class PromptTestRun(SuiteRun):
    """A prompt version's test cases, run ``repetitions`` times against each model: pass rates
    expose the failures one lucky run hides."""

    version = models.ForeignKey(PromptVersion, on_delete=models.CASCADE, related_name="test_runs")
    model_keys = models.JSONField(default=list)  # catalogue keys; empty: the version's own
    repetitions = models.PositiveSmallIntegerField(default=1)

    class Meta(SuiteRun.Meta):
        db_table = "builder_prompttestrun"  # named when it lived in builder

    def __str__(self) -> str:
        return f"Tests of {self.version} ({self.status})"
