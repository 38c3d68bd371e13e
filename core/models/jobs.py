"""Background work that creators wait on (a training, an evaluation, a test run): one row per
run, saying where it is while it runs and how it ended. ``core.jobs`` runs them."""

from __future__ import annotations

from django.db import models


class JobStatus(models.TextChoices):
    """Every kind of job has these statuses (a kind may add its own, and name them its way)."""

    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


class Job(models.Model):
    """One run of a kind of job; subclasses add what the run is about and its report."""

    status = models.CharField(max_length=16, choices=JobStatus.choices, default=JobStatus.QUEUED)
    stage = models.CharField(max_length=64, blank=True)  # what it is doing, for the progress bar
    progress = models.FloatField(default=0.0)
    error = models.TextField(blank=True)  # why it failed, said to the creator
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # Saved with each progress report while running: a run whose worker died stops beating.
    heartbeat_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        abstract = True
        ordering = ["-created_at", "-id"]
