"""Training an assistant's draft NLU model in the background, with live progress."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.utils import timezone

from builder.services.checks import pretrain_checks
from core.events import assistant_event_send
from core.jobs import job_take, progress_reporter
from core.models import Assistant, TrainingRun, TrainingStatus
from core.nlu_data import finetune_threads, nlu_data_hash, nlu_examples, nlu_matcher

if TYPE_CHECKING:
    from nlu.model import NluModel


def training_request(*, assistant: Assistant) -> TrainingRun:
    """Queue a training of the draft model once the current transaction commits.

    Edits in quick succession share one queued run: the task trains whatever the data is when it
    starts. Each edit still enqueues the task (a lost job must not leave the run queued forever);
    the extra ones find the run already taken and return.
    """
    run = assistant.training_runs.filter(status=TrainingStatus.QUEUED).first()
    if run is None:
        run = TrainingRun.objects.create(assistant=assistant)
        _announce(run)
    from builder.tasks import nlu_train  # the task module imports this one

    run_id = run.pk
    transaction.on_commit(lambda: nlu_train(run_id))
    return run


def training_run_execute(run_id: int) -> TrainingRun:
    """Train the draft model from the assistant's data as it is now, and point the draft at it."""
    from nlu.model import NluModel, TrainingConfig
    from nlu.registry import NotPublished
    from nlu.store import registry

    taken = job_take(
        TrainingRun,
        run_id,
        queued=TrainingStatus.QUEUED,
        running=TrainingStatus.RUNNING,
        stage="starting",
    )
    run = TrainingRun.objects.select_related("assistant").get(pk=run_id)
    if not taken:
        return run
    assistant = run.assistant
    run.data_hash = nlu_data_hash(assistant)
    # Checked before every training, never blocking it: the creator sees what to fix.
    checks = [finding.as_dict() for finding in pretrain_checks(assistant)]
    run.metrics = {"checks": checks}
    run.save(update_fields=["data_hash", "metrics"])
    _announce(run)
    models = registry()
    try:
        previous = models.published_model(assistant.pk, "draft")
    except NotPublished:
        previous = None
    progress = progress_reporter(run, _announce)
    try:
        model = NluModel.train(
            nlu_examples(assistant),
            encoder=models.encoder,
            config=TrainingConfig(mode=assistant.nlu_mode, finetune_threads=finetune_threads()),
            previous=previous,
            matcher=nlu_matcher(assistant),
            progress=progress,
        )
        version = f"run{run.pk}-{uuid.uuid4().hex[:8]}"
        models.save(assistant.pk, version, model)
        models.publish(assistant.pk, version, channel="draft")
    except ValueError as error:  # not enough data, or data the model cannot learn from
        run.status, run.error = TrainingStatus.FAILED, str(error)
    else:
        run.status, run.model_version = TrainingStatus.DONE, version
        run.metrics = model.manifest["metrics"] | {
            "training": model.manifest["training"]["kind"],
            "checks": checks,
        }
        run.progress = 1.0
    run.finished_at = timezone.now()
    run.save()
    _announce(run)
    if run.status == TrainingStatus.DONE:
        # After the test panel has the new model: how it differs from the published one.
        diff = regression_against_published(assistant, model)
        if diff is not None:
            run.metrics = {**run.metrics, "regression": diff}
            run.save(update_fields=["metrics"])
            assistant_event_send(
                assistant_id=assistant.pk, event="nlu.regression", data={"run": run.pk, **diff}
            )
        from builder.tasks import nlu_analyse

        nlu_analyse(run.pk)
    return run


def regression_against_published(assistant: Assistant, model: NluModel) -> dict[str, Any] | None:
    """The new draft against the published model, on the assistant's latest uploaded test set
    (None when there is no published model or no test set)."""
    from nlu.evaluation import outcomes_of, regression
    from nlu.registry import NotPublished
    from nlu.store import registry
    from quality.services.evaluations import test_set_examples

    latest = (
        assistant.evaluations.exclude(test_set=[])
        .order_by("-created_at")
        .only("test_name", "test_set")
        .first()
    )
    if latest is None:
        return None
    try:
        published = registry().published_model(assistant.pk)
    except NotPublished:
        return None
    examples = test_set_examples(latest)
    diff = regression(outcomes_of(published, examples), outcomes_of(model, examples))
    return {"test_set": latest.test_name, "utterances": len(examples), **diff}


def _announce(run: TrainingRun) -> None:
    assistant_event_send(
        assistant_id=run.assistant_id,
        event="nlu.training",
        data={
            "run": run.pk,
            "status": run.status,
            "stage": run.stage,
            "progress": round(run.progress, 2),
            "error": run.error,
        },
    )
