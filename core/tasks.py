"""The background task that runs every kind of job (Huey), and the watch over them."""

from __future__ import annotations

import logging
from typing import Any

from django.db import transaction
from huey import crontab
from huey.contrib.djhuey import HUEY, db_periodic_task, db_task

from core.jobs import job_kind, jobs_recover

logger = logging.getLogger(__name__)


@db_task()
def job_run(kind: str, run_id: int, *args: Any) -> None:
    """Do one piece of a registered kind of background work (``core.jobs.job_kind_register``)."""
    job_kind(kind).execute(run_id, *args)


def job_enqueue(kind: str, run_id: int, *args: Any) -> None:
    """Do ``kind``'s work on ``run_id`` in the background once the current transaction commits
    (so the worker finds the row). A run that is already taken ignores an extra task."""
    transaction.on_commit(lambda: job_run(kind, run_id, *args))


@db_periodic_task(crontab(minute="*"))
def jobs_watch() -> None:
    """Every minute: fail (and retry, for trainings) jobs whose worker stopped mid-way."""
    recovered = jobs_recover()
    if any(recovered.values()):
        logger.warning("recovered jobs whose worker stopped: %s", recovered)


@HUEY.on_startup()
def jobs_recover_on_start() -> None:
    """A restarted worker looks for jobs its predecessor left running, at once."""
    jobs_watch.call_local()
