"""Test suites creators write without code: prompt tests (cases of input values with checks on
the output, run against one or several models, several times each)."""

from __future__ import annotations

from django.db import models

from builder.models.prompts import Prompt, PromptVersion


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


class PromptTestStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


class PromptTestRun(models.Model):
    """A prompt version's test cases, run ``repetitions`` times against each model: pass rates
    expose the failures one lucky run hides."""

    version = models.ForeignKey(PromptVersion, on_delete=models.CASCADE, related_name="test_runs")
    model_keys = models.JSONField(default=list)  # catalogue keys; empty: the version's own
    repetitions = models.PositiveSmallIntegerField(default=1)
    status = models.CharField(
        max_length=16, choices=PromptTestStatus.choices, default=PromptTestStatus.QUEUED
    )
    stage = models.CharField(max_length=64, blank=True)
    progress = models.FloatField(default=0.0)
    error = models.TextField(blank=True)
    report = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    member_role: str | None  # the requesting user's role, annotated by member_rows()

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"Tests of {self.version} ({self.status})"
