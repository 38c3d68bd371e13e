"""Background jobs of the builder (Huey)."""

from __future__ import annotations

import logging

from huey import crontab
from huey.contrib.djhuey import HUEY, db_periodic_task, db_task

from builder.services.analysis import training_run_analyse
from builder.services.suggestions import intent_synthesise
from builder.services.training import training_run_execute
from core.jobs import jobs_recover
from core.models import Intent
from gateway.errors import GatewayError

logger = logging.getLogger(__name__)


@db_task()
def nlu_train(run_id: int) -> None:
    """Train an assistant's draft NLU model (see ``training_run_execute``)."""
    training_run_execute(run_id)


@db_task()
def nlu_analyse(run_id: int) -> None:
    """Clarity and conflicts of a finished training's data (see ``training_run_analyse``)."""
    training_run_analyse(run_id)


@db_task()
def intent_synthesis(intent_id: int, count: int) -> None:
    """Cold start: an intent's first utterances from the LLM (see ``intent_synthesise``).
    A failure is logged; the intent page still offers to try again."""
    intent = Intent.objects.select_related("assistant").filter(pk=intent_id).first()
    if intent is None:
        return
    try:
        intent_synthesise(intent=intent, count=count)
    except GatewayError:
        logger.exception("synthesising utterances for intent %s failed", intent_id)


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
