"""What background jobs (training, evaluation, reading documents) share: reporting progress."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.db.models import Model, Q
from django.utils import timezone

from builder.models import Assistant
from nlu.progress import Progress

PROGRESS_EVERY_S = 0.25  # at most this often a progress message per job


def throttled(report: Progress) -> Progress:
    """``report``, called at most every ``PROGRESS_EVERY_S``; the first call and the last step
    (100 %) always get through."""
    last_sent = 0.0

    def progress(stage: str, fraction: float) -> None:
        nonlocal last_sent
        if time.monotonic() - last_sent < PROGRESS_EVERY_S and fraction < 1:
            return
        last_sent = time.monotonic()
        report(stage, fraction)

    return progress


def job_take(
    run_model: type[Model], run_id: int, *, queued: str, running: str, **fields: Any
) -> bool:
    """Mark a queued run as running, with its first heartbeat; False when it was not queued
    (another worker took it, or it already finished). One conditional UPDATE, so two workers
    never run the same job."""
    taken = run_model._default_manager.filter(pk=run_id, status=queued).update(
        status=running, heartbeat_at=timezone.now(), **fields
    )
    return bool(taken)


def progress_reporter(run: Any, announce: Callable[[Any], None]) -> Progress:
    """Saves a job run's stage and progress and announces it (throttled)."""

    def report(stage: str, fraction: float) -> None:
        run.stage, run.progress, run.heartbeat_at = stage[:32], fraction, timezone.now()
        run.save(update_fields=["stage", "progress", "heartbeat_at"])
        announce(run)

    return throttled(report)


STOPPED = "The worker running this job stopped (restarted, killed or out of memory)."


def jobs_recover(*, stale_after_s: float | None = None) -> dict[str, int]:
    """Jobs whose worker stopped mid-way stop beating: after ``JOB_STALE_AFTER_S`` without a
    progress report each is marked failed with the reason, so none stays "running" forever; a
    training is asked for again (it trains the draft as it is then). Returns how many of each
    kind were recovered."""
    from django.conf import settings

    from builder.models import (
        ConversationTestRun,
        EvaluationRun,
        EvaluationStatus,
        PromptTestRun,
        SuiteRunStatus,
        TrainingRun,
        TrainingStatus,
    )
    from builder.services.training import training_request
    from knowledge.models import Document, DocumentStatus

    now = timezone.now()
    stale = now - timedelta(seconds=stale_after_s or settings.JOB_STALE_AFTER_S)
    silent = Q(heartbeat_at__lt=stale) | Q(heartbeat_at__isnull=True, created_at__lt=stale)
    recovered: dict[str, int] = {}
    runs: list[tuple[str, Any, str, str]] = [
        ("training", TrainingRun, TrainingStatus.RUNNING, TrainingStatus.FAILED),
        ("evaluation", EvaluationRun, EvaluationStatus.RUNNING, EvaluationStatus.FAILED),
        ("prompt_tests", PromptTestRun, SuiteRunStatus.RUNNING, SuiteRunStatus.FAILED),
        ("conversation_tests", ConversationTestRun, SuiteRunStatus.RUNNING, SuiteRunStatus.FAILED),
    ]
    for kind, model, running, failed in runs:
        stuck = model.objects.filter(silent, status=running)
        assistants = set(stuck.values_list(_assistant_of(model), flat=True))
        recovered[kind] = stuck.update(
            status=failed, error=f"{STOPPED} Run it again.", finished_at=now
        )
        if kind == "training":
            for assistant in Assistant.objects.filter(pk__in=assistants):
                training_request(assistant=assistant)  # the retry
    recovered["documents"] = Document.objects.filter(
        status=DocumentStatus.PROCESSING, updated_at__lt=stale
    ).update(
        status=DocumentStatus.FAILED,
        error=f"{STOPPED} Refresh the document or upload it again.",
        progress=0.0,
        updated_at=now,
    )
    return recovered


def _assistant_of(model: Any) -> str:
    field = next(f.name for f in model._meta.fields if f.name in ("assistant", "version"))
    return "assistant" if field == "assistant" else "version__prompt__assistant"
