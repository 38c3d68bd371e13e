"""Clarity and conflicts of an assistant's intents, recomputed after each training, and the
one-click fixes the intents page offers for them: move an utterance, merge two intents."""

from __future__ import annotations

import time
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from builder.services.training import training_request
from core.events import assistant_event_send
from core.models import Assistant, Intent, TrainingRun, TrainingStatus, Utterance


def assistant_analyse(assistant: Assistant) -> dict[str, Any]:
    """The analysis of the assistant's data as it is now (see ``nlu.analysis``)."""
    from core.nlu_data import nlu_examples
    from nlu.analysis import NotAnalysable, analyse
    from nlu.store import registry

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
    from core.nlu_data import nlu_data_hash

    run = (
        assistant.training_runs.filter(status=TrainingStatus.DONE)
        .exclude(analysis={})
        .only("analysis", "data_hash")
        .first()
    )
    if run is None:
        return None, False
    return run.analysis, run.data_hash == nlu_data_hash(assistant)


@transaction.atomic
def utterance_move(*, utterance: Utterance, intent: Intent) -> Utterance:
    """Move an utterance to another intent of the same assistant; the NLU retrains."""
    if intent.assistant_id != utterance.intent.assistant_id:
        raise ValidationError({"intent": "Move utterances between intents of one assistant."})
    if intent.utterances.filter(text__iexact=utterance.text).exists():
        # It is already there: moving it means removing the copy that is in the wrong place.
        utterance.delete()
    else:
        utterance.intent = intent
        utterance.save(update_fields=["intent"])
    training_request(assistant=intent.assistant)
    return utterance


@transaction.atomic
def intents_merge(*, source: Intent, into: Intent) -> Intent:
    """Merge ``source`` into ``into``: its utterances move (duplicates dropped), flows that
    route on it route on ``into``, required entities join, and ``source`` is deleted."""
    if source.pk == into.pk:
        raise ValidationError({"into": "Pick another intent to merge into."})
    if source.assistant_id != into.assistant_id:
        raise ValidationError({"into": "Merge intents of one assistant."})
    assistant = into.assistant
    have = {text.lower() for text in into.utterances.values_list("text", flat=True)}
    for utterance in source.utterances.all():
        if utterance.text.lower() in have:
            continue
        have.add(utterance.text.lower())
        utterance.intent = into
        utterance.save(update_fields=["intent"])
    required = {item["entity"] for item in into.required_entities}
    into.required_entities = [
        *into.required_entities,
        *(item for item in source.required_entities if item["entity"] not in required),
    ]
    if source.description and source.description not in into.description:
        into.description = " ".join(filter(None, [into.description, source.description]))
    into.save(update_fields=["required_entities", "description", "updated_at"])
    for flow in assistant.flows.all():
        flow.graph = _rerouted(flow.graph, source.name, into.name)
        flow.save(update_fields=["graph", "updated_at"])
    source.delete()
    training_request(assistant=assistant)
    return into


def _rerouted(graph: dict[str, Any], old: str, new: str) -> dict[str, Any]:
    """The graph with every route on intent ``old`` now on ``new``; where both were routed, the
    first route stays (it is the one the engine took)."""

    def routes(items: list[Any]) -> list[Any]:
        kept, seen = [], set()
        for item in items:
            if isinstance(item, dict) and item.get("intent") == old:
                item = {**item, "intent": new}
            name = item.get("intent") if isinstance(item, dict) else None
            if name is not None and name in seen:
                continue
            seen.add(name)
            kept.append(item)
        return kept

    graph = dict(graph)
    graph["triggers"] = routes(list(graph.get("triggers") or []))
    graph["steps"] = [
        {**step, "intents": routes(list(step["intents"]))}
        if isinstance(step, dict) and step.get("intents")
        else step
        for step in graph.get("steps") or []
    ]
    return graph
