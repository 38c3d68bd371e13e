"""How background jobs run (trainings, evaluations, test runs, readings of documents): take a
queued run once, report its progress, end it the same way whatever the work, and fail the runs
whose worker stopped.

Each app registers its kinds of job (``job_kind_register``, from its ``AppConfig.ready``) with
the function that does the work, so this module names no model or service above it; the one
task that runs them all is ``core.tasks.job_run``."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from contextlib import suppress
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, TypeVar

from django.conf import settings
from django.core.exceptions import ObjectDoesNotExist
from django.db.models import CharField, Q, QuerySet
from django.utils import timezone

from core.events import assistant_event_send
from core.models import Assistant, Job, JobStatus
from nlu.progress import Progress

PROGRESS_EVERY_S = 0.25  # at most this often a progress message per job
STOPPED = "The worker running this job stopped (restarted, killed or out of memory)."

J = TypeVar("J", bound=Job)


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


def job_announcer(event: str) -> Callable[[Any], None]:
    """A function that tells everyone watching a run's assistant where the run is: ``event``
    with the run's id, status, stage, progress and error (the pages' progress bars)."""

    def announce(run: Any) -> None:
        assistant_event_send(
            assistant_id=run.assistant_id,
            event=event,
            data={
                "run": run.pk,
                "status": run.status,
                "stage": run.stage,
                "progress": round(run.progress, 2),
                "error": run.error,
            },
        )

    return announce


def _silent(run: Any) -> None:
    """Runs nobody watches live (test runs: their pages poll)."""


class JobStopped(Exception):
    """Raised by a job's work when the creator stopped the run meanwhile: the run keeps what the
    stop saved, and the message says where it stopped."""


def job_execute(
    model: type[J],
    run_id: int,
    work: Callable[[J, Progress], None],
    *,
    announce: Callable[[J], None] = _silent,
    related: Sequence[str] = ("assistant",),
) -> J:
    """Do ``work(run, progress)`` on the queued run ``run_id``, once: a run another worker took,
    or one that already ended, comes back as it is.

    How the work ends is how the run ends: returning marks it done; a ``ValueError`` marks it
    failed with the error's words (a refusal the creator can act on); ``JobStopped`` leaves it
    as the stop left it; anything else marks it failed ("The run broke off: …") and is raised
    again for the logs, so no run stays "running". The end is saved only while the run is still
    running this attempt: one stopped, resumed or recovered meanwhile keeps its newer state, and
    one deleted meanwhile (with what it was about) is not saved again."""
    rows = model._default_manager.select_related(*related)
    taken = model._default_manager.filter(pk=run_id, status=JobStatus.QUEUED).update(
        status=JobStatus.RUNNING, stage="starting", heartbeat_at=timezone.now()
    )
    run = rows.get(pk=run_id)
    if not taken:
        return run
    progress = _reporter(run, announce)
    try:
        work(run, progress)
    except JobStopped as stopped:
        run.refresh_from_db()
        run.stage = str(stopped)[: _stage_length(run)]
        run.save(update_fields=["stage"])
        announce(run)
        return run
    except ValueError as error:
        run.status, run.error = JobStatus.FAILED, str(error)
    except Exception as error:
        run.status, run.error = JobStatus.FAILED, f"The run broke off: {error}"
        _end(run, announce)
        raise
    else:
        run.status, run.progress = JobStatus.DONE, 1.0
    _end(run, announce)
    return run


def _reporter(run: Job, announce: Callable[[Any], None]) -> Progress:
    """Saves the run's stage and progress, with a heartbeat, and announces it (throttled); a run
    deleted meanwhile is not saved again."""
    stage_length = _stage_length(run)
    rows = type(run)._default_manager.filter(pk=run.pk)

    def report(stage: str, fraction: float) -> None:
        run.stage, run.progress, run.heartbeat_at = stage[:stage_length], fraction, timezone.now()
        rows.update(stage=run.stage, progress=run.progress, heartbeat_at=run.heartbeat_at)
        announce(run)

    return throttled(report)


def _stage_length(run: Job) -> int:
    field = run._meta.get_field("stage")
    return field.max_length if isinstance(field, CharField) and field.max_length else 32


def _end(run: Job, announce: Callable[[Any], None]) -> None:
    run.finished_at = timezone.now()
    still = type(run)._default_manager.filter(pk=run.pk, status=JobStatus.RUNNING)
    attempt = getattr(run, "attempt", None)
    if attempt is not None:  # a resumable run: only this attempt may end it
        still = still.filter(**{"attempt": attempt})
    fields = {f.attname: getattr(run, f.attname) for f in run._meta.concrete_fields}
    fields.pop(run._meta.pk.attname)
    if still.update(**fields):
        announce(run)
    else:
        with suppress(ObjectDoesNotExist):  # deleted meanwhile: it has nothing left to end
            run.refresh_from_db()


@dataclass(frozen=True)
class JobKind:
    """A kind of background work: the function that does it, and, for work with a row per run,
    the model of those rows and how the watch treats a run whose worker stopped."""

    name: str
    execute: Callable[..., object]  # given the run's id (and what job_enqueue was given after it)
    model: type[Job] | None = None  # None: background work with no run row to watch
    hint: str = "Run it again."
    assistant: str = "assistant"  # the path from a run to its assistant
    # Asked again for each assistant whose run stopped (a training retries; tests do not).
    retry: Callable[[Assistant], object] | None = None
    # Given the runs the watch just failed, for what they were about (a document's status).
    on_stopped: Callable[[QuerySet[Any]], object] | None = None


_kinds: dict[str, JobKind] = {}


def job_kind_register(kind: JobKind) -> None:
    """Let ``job_run`` run and ``jobs_recover`` watch runs of ``kind`` (once per kind, at
    start-up)."""
    _kinds[kind.name] = kind


def job_kind(name: str) -> JobKind:
    return _kinds[name]


def jobs_recover(*, stale_after_s: float | None = None) -> dict[str, int]:
    """Jobs whose worker stopped mid-way stop beating: after ``JOB_STALE_AFTER_S`` without a
    progress report each is marked failed with the reason, so none stays "running" forever; a
    kind with a ``retry`` is asked for again (a training trains the draft as it is then), and one
    with ``on_stopped`` is handed the runs it failed. Returns how many of each kind were
    recovered."""
    now = timezone.now()
    stale = now - timedelta(seconds=stale_after_s or settings.JOB_STALE_AFTER_S)
    recovered: dict[str, int] = {}
    for kind in _kinds.values():
        if kind.model is None:
            continue
        runs = kind.model._default_manager
        silent = Q(heartbeat_at__lt=stale) | Q(heartbeat_at__isnull=True, created_at__lt=stale)
        stuck = runs.filter(silent, status=JobStatus.RUNNING)
        ids = list(stuck.values_list("pk", flat=True))
        assistants = set(runs.filter(pk__in=ids).values_list(kind.assistant, flat=True))
        error = f"{STOPPED} {kind.hint}"
        recovered[kind.name] = stuck.filter(pk__in=ids).update(
            status=JobStatus.FAILED, error=error, finished_at=now
        )
        if kind.on_stopped is not None and recovered[kind.name]:
            kind.on_stopped(runs.filter(pk__in=ids, status=JobStatus.FAILED, error=error))
        if kind.retry is not None:
            for assistant in Assistant.objects.filter(pk__in=assistants):
                kind.retry(assistant)
    return recovered
