"""Training an assistant's draft NLU model in the background, with live progress."""

from __future__ import annotations

import uuid
from typing import Any

from builder.services.checks import pretrain_checks
from core.events import assistant_event_send
from core.jobs import job_announcer, job_execute
from core.models import Assistant, TrainingRun, TrainingStatus
from core.nlu_data import finetune_threads, nlu_data_hash, nlu_examples, nlu_matcher
from core.tasks import job_enqueue
from nlu.evaluation import outcomes_of, regression
from nlu.model import NluModel, TrainingConfig
from nlu.progress import Progress
from nlu.registry import NotPublished
from nlu.store import registry
from quality.services.evaluations import test_set_examples

_announce = job_announcer("nlu.training")


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
    job_enqueue("training", run.pk)
    return run


def training_run_execute(run_id: int) -> TrainingRun:
    """Train the draft model from the assistant's data as it is now, and point the draft at it;
    then compare it with the published model and analyse its data."""
    trained: list[NluModel] = []

    def work(run: TrainingRun, progress: Progress) -> None:
        trained.append(_train(run, progress))

    run = job_execute(TrainingRun, run_id, work, announce=_announce)
    if run.status != TrainingStatus.DONE or not trained:
        return run
    assistant = run.assistant
    # After the test panel has the new model: how it differs from the published one.
    diff = regression_against_published(assistant, trained[0])
    if diff is not None:
        run.metrics = {**run.metrics, "regression": diff}
        run.save(update_fields=["metrics"])
        assistant_event_send(
            assistant_id=assistant.pk, event="nlu.regression", data={"run": run.pk, **diff}
        )
    job_enqueue("analysis", run.pk)
    return run


def _train(run: TrainingRun, progress: Progress) -> NluModel:
    """The training itself; a ``ValueError`` (not enough data, or data the model cannot learn
    from) fails the run with its message."""
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
    run.model_version = version
    run.metrics = model.manifest["metrics"] | {
        "training": model.manifest["training"]["kind"],
        "checks": checks,
    }
    return model


def regression_against_published(assistant: Assistant, model: NluModel) -> dict[str, Any] | None:
    """The new draft against the published model, on the assistant's latest uploaded test set
    (None when there is no published model or no test set)."""
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
