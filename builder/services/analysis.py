"""Clarity and conflicts of an assistant's intents, recomputed after each training (the fixes
the intents page offers for them are ``builder.services.fixes``)."""

from __future__ import annotations

import time
from typing import Any

from django.utils import timezone

from core.events import assistant_event_send
from core.models import Assistant, TrainingRun, TrainingStatus
from core.nlu_data import nlu_data_hash, nlu_examples
from nlu.analysis import NotAnalysable, analyse
from nlu.store import registry


def assistant_analyse(assistant: Assistant) -> dict[str, Any]:
    """The analysis of the assistant's data as it is now (see ``nlu.analysis``)."""

    started = time.perf_counter()
    try:
        result = analyse(nlu_examples(assistant), registry().encoder)
    except NotAnalysable as error:
        return {"unavailable": str(error), "analysed_at": timezone.now().isoformat()}
    return result | {
        "seconds": round(time.perf_counter() - started, 2),
        "analysed_at": timezone.now().isoformat(),
    }


def training_run_analyse(run_id: int) -> TrainingRun | None:
    """Attach the analysis to a finished training, unless a newer training has finished since
    (its own analysis supersedes this one)."""
    run = TrainingRun.objects.select_related("assistant").filter(pk=run_id).first()
    if run is None or run.status != TrainingStatus.DONE:
        return run
    newer = run.assistant.training_runs.filter(status=TrainingStatus.DONE, pk__gt=run.pk)
    if newer.exists():
        return run
    run.analysis = assistant_analyse(run.assistant)
    run.save(update_fields=["analysis"])
    assistant_event_send(
        assistant_id=run.assistant_id,
        event="nlu.analysis",
        data={"run": run.pk, "clarity": run.analysis.get("clarity")},
    )
    return run


def latest_analysis(assistant: Assistant) -> tuple[dict[str, Any] | None, bool]:
    """The newest analysis, and whether it describes the data as it is now (False: a training
    or its analysis is still to come)."""

    run = (
        assistant.training_runs.filter(status=TrainingStatus.DONE)
        .exclude(analysis={})
        .only("analysis", "data_hash")
        .first()
    )
    if run is None:
        return None, False
    return run.analysis, run.data_hash == nlu_data_hash(assistant)
