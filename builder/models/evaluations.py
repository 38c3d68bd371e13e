"""Evaluations of an assistant's NLU: how it was tested, and the report (see ``nlu.evaluation``)."""

from __future__ import annotations

from django.db import models

from builder.models.assistants import Assistant


class EvaluationKind(models.TextChoices):
    HOLDOUT = "holdout", "Held-out split (20 % of each intent)"
    KFOLD = "kfold", "K-fold cross-validation"
    TEST_SET = "test_set", "Uploaded test set (on the draft model)"
    COMPARE = "compare", "In-house NLU vs LLM vs hybrid"


class EvaluationStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


class EvaluationRun(models.Model):
    assistant = models.ForeignKey(Assistant, on_delete=models.CASCADE, related_name="evaluations")
    kind = models.CharField(max_length=16, choices=EvaluationKind.choices)
    folds = models.PositiveSmallIntegerField(default=5)
    test_name = models.CharField(max_length=255, blank=True)  # the uploaded file's name
    # A comparison: which LLM, how many utterances at most go to it, and few-shot examples.
    llm_model = models.CharField(max_length=100, blank=True)
    max_items = models.PositiveIntegerField(default=200)
    few_shot = models.PositiveSmallIntegerField(default=3)
    test_set = models.JSONField(default=list, blank=True)  # [{"text", "intent", "entities"}]
    status = models.CharField(
        max_length=16, choices=EvaluationStatus.choices, default=EvaluationStatus.QUEUED
    )
    stage = models.CharField(max_length=64, blank=True)
    progress = models.FloatField(default=0.0)
    error = models.TextField(blank=True)
    model_version = models.CharField(max_length=64, blank=True)  # the draft model tested
    report = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} of {self.assistant} ({self.status})"
