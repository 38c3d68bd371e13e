"""Evaluations of an assistant's NLU: how it was tested, and the report (see ``nlu.evaluation``)."""

from __future__ import annotations

from django.db import models

from core.models import Assistant, Job, NluMode


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
    STOPPED = "stopped", "Stopped"


class EvaluationRun(Job):
    assistant = models.ForeignKey(Assistant, on_delete=models.CASCADE, related_name="evaluations")
    kind = models.CharField(max_length=16, choices=EvaluationKind.choices)
    # The mode of the models evaluated: the assistant's when asked, the draft's for a test set.
    nlu_mode = models.CharField(max_length=16, choices=NluMode.choices, default=NluMode.FAST)
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
    # Bumped each time the run is resumed: a worker still busy with an older attempt stops.
    attempt = models.PositiveIntegerField(default=0)
    model_version = models.CharField(max_length=64, blank=True)  # the draft model tested
    report = models.JSONField(null=True, blank=True)
    member_role: str | None  # the requesting user's role, annotated by member_rows()

    class Meta:
        db_table = "builder_evaluationrun"  # named when it lived in builder
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} of {self.assistant} ({self.status})"


class ComparisonItem(models.Model):
    """One utterance of a comparison, finished: what each classifier answered, how long it took
    and what it cost. Saved as it finishes, so a stopped or interrupted comparison resumes where
    it was and never asks (or bills) the LLM for it again."""

    run = models.ForeignKey(EvaluationRun, on_delete=models.CASCADE, related_name="items")
    index = models.PositiveIntegerField()  # in the run's sample of utterances
    record = models.JSONField()  # {classifier: {outcome, latency_ms, tokens, cost, ...}}

    class Meta:
        db_table = "builder_comparisonitem"  # named when it lived in builder
        constraints = [
            models.UniqueConstraint(fields=["run", "index"], name="comparison_item_once"),
        ]
        ordering = ["run", "index"]

    def __str__(self) -> str:
        return f"Utterance {self.index} of {self.run}"
