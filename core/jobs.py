"""What background jobs (trainings, evaluations, test runs, reading documents) share: taking a
queued run, reporting its progress, and failing the runs whose worker stopped.

Each app registers its kinds of job (``job_kind_register``, from its ``AppConfig.ready``), so this
module knows no model above it."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db.models import Model, Q
from django.utils import timezone

from core.models import Assistant
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


@dataclass(frozen=True)
class JobKind:
    """A kind of background run: the model whose rows are its runs, the statuses a run has while
    it runs and once it failed, and what to tell the creator when its worker stopped."""

    name: str
    model: type[Model]
    running: str
    failed: str
    hint: str = "Run it again."
    beat: str = "heartbeat_at"  # saved with each progress report
    assistant: str = "assistant"  # the path from a run to its assistant
    reset: dict[str, Any] = field(default_factory=dict)  # more fields to set on a stopped run
    # Asked again for each assistant whose run stopped (a training retries; tests do not).
    retry: Callable[[Assistant], object] | None = None


_kinds: dict[str, JobKind] = {}


def job_kind_register(kind: JobKind) -> None:
    """Let ``jobs_recover`` watch runs of ``kind`` (called once per kind, at start-up)."""
    _kinds[kind.name] = kind


def jobs_recover(*, stale_after_s: float | None = None) -> dict[str, int]:
    """Jobs whose worker stopped mid-way stop beating: after ``JOB_STALE_AFTER_S`` without a
    progress report each is marked failed with the reason, so none stays "running" forever; a
    kind with a ``retry`` is asked for again (a training trains the draft as it is then).
    Returns how many of each kind were recovered."""
    now = timezone.now()
    stale = now - timedelta(seconds=stale_after_s or settings.JOB_STALE_AFTER_S)
    recovered: dict[str, int] = {}
    for kind in _kinds.values():
        silent = Q(**{f"{kind.beat}__lt": stale}) | Q(
            **{f"{kind.beat}__isnull": True, "created_at__lt": stale}
        )
        stuck = kind.model._default_manager.filter(silent, status=kind.running)
        assistants = set(stuck.values_list(kind.assistant, flat=True))
        fields: dict[str, Any] = {"status": kind.failed, "error": f"{STOPPED} {kind.hint}"}
        if any(f.name == "finished_at" for f in kind.model._meta.fields):
            fields["finished_at"] = now
        if any(f.name == "updated_at" for f in kind.model._meta.fields):
            fields["updated_at"] = now
        recovered[kind.name] = stuck.update(**fields, **kind.reset)
        if kind.retry is not None:
            for assistant in Assistant.objects.filter(pk__in=assistants):
                kind.retry(assistant)
    return recovered
