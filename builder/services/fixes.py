"""The one-click fixes the intents page offers for unclear or conflicting intents: move an
utterance to the intent it belongs to, merge two intents. Each queues a training."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from builder.services.training import training_request
from core.models import Intent, Utterance


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
