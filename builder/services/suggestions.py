"""Suggested training data from an LLM, through the gateway with structured output: new
utterances for an intent, values and synonyms for a list entity, and a starting set for an intent
that has none (cold start).

Suggestions are cleaned before the creator sees them: never an exact copy of an existing example,
near duplicates of the intent's own examples dropped (they teach nothing), and each checked
against the other intents (an utterance that sits with another intent's examples comes back
flagged, with the closest example as the reason). The creator accepts or rejects each.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

import numpy as np
import pydantic
from django.core.exceptions import ValidationError

from core.models import UTTERANCE_MAX_LENGTH, Assistant, Entity, EntityKind, Intent
from gateway.calls import structured
from gateway.ledger import CallScope
from gateway.models import Purpose
from nlu.analysis import NEAR_DUPLICATE, placement
from nlu.data import normalised

MAX_SUGGESTIONS = 25
PROMPT_EXAMPLES = 20  # existing utterances shown to the model
PROMPT_OTHER_INTENTS = 40


@functools.cache
def utterances_schema(count: int) -> type[pydantic.BaseModel]:
    """``{"utterances": [...]}`` with 1 to ``count`` items: the bound also stops a small local
    model, whose output follows the schema's grammar, from going on until it is cut off."""
    return pydantic.create_model(
        "SuggestedUtterances",
        utterances=(
            list[str],
            pydantic.Field(
                min_length=1,
                max_length=count,
                description="New example messages a user might send, one per item.",
            ),
        ),
    )


class SuggestedValue(pydantic.BaseModel):
    value: str = pydantic.Field(description="The canonical value.")
    synonyms: list[str] = pydantic.Field(description="Other ways users write the same value.")


class SuggestedValues(pydantic.BaseModel):
    values: list[SuggestedValue]


# A worked example before the real request: small models copy its form (and its variety)
# instead of echoing the schema or answering with an empty list.
EXAMPLE_REQUEST = (
    "Intent: opening_hours (opening hours) — the user asks when the business is open.\n"
    "Write 5 new, varied messages a user might send with this intent."
)
EXAMPLE_ANSWER = (
    '{"utterances": ["when do you open tomorrow?", "are you open on sundays", '
    '"what time do you close tonight", "hi, I wanted to know your hours over the holidays", '
    '"open now?"]}'
)


def utterance_messages(
    *,
    name: str,
    description: str,
    examples: Sequence[str],
    others: Sequence[tuple[str, str]],
    language: str,
    count: int,
) -> list[dict[str, str]]:
    """The prompt for ``count`` new utterances of one intent."""
    readable = name.replace("_", " ").replace("-", " ")
    system = [
        f"You write training data for a chatbot's intent classifier, in {language}: messages "
        "real users would type, short and long, casual and formal, with and without details. "
        "Answer with JSON only.",
    ]
    if others:
        system.append("The chatbot's other intents (never write messages that belong to them):")
        system += [
            f"- {other}" + (f": {about}" if about else "")
            for other, about in others[:PROMPT_OTHER_INTENTS]
        ]
    request = [f"Intent: {name} ({readable})" + (f" — {description}" if description else "")]
    if examples:
        request.append("Its examples so far (do not repeat them):")
        request += [f"- {text}" for text in examples[:PROMPT_EXAMPLES]]
    request.append(f"Write {count} new, varied messages a user might send with this intent.")
    return [
        {"role": "system", "content": "\n".join(system)},
        {"role": "user", "content": EXAMPLE_REQUEST},
        {"role": "assistant", "content": EXAMPLE_ANSWER},
        {"role": "user", "content": "\n".join(request)},
    ]


def utterances_generate(
    messages: list[dict[str, str]], *, count: int, scope: CallScope, model: str | None = None
) -> list[str]:
    """Up to ``count`` utterances from the model, whitespace-normalised, blank and overlong ones
    dropped; raises ``GatewayError`` when no model gives output that passes the schema."""
    answer = structured(
        messages,
        utterances_schema(count),
        scope=scope,
        cache="off",  # "suggest again" should suggest something else
        temperature=0.8,
        max_tokens=900,
        model=model,
    )
    texts = (" ".join(text.split()) for text in answer.value.utterances)  # type: ignore[attr-defined]
    return [text for text in texts if text and len(text) <= UTTERANCE_MAX_LENGTH]


def _scope(assistant: Assistant) -> CallScope:
    return CallScope(
        purpose=Purpose.SYNTHESIS,
        workspace_id=assistant.workspace_id,
        assistant_id=assistant.pk,
    )


def utterances_suggest(*, intent: Intent, count: int = 10) -> dict[str, Any]:
    """New utterances for ``intent``: ``{"suggestions": [{text, conflict}], "dropped": n}``,
    ``conflict`` None or ``{intent, similar, similarity}``; raises ``GatewayError``."""
    if not 1 <= count <= MAX_SUGGESTIONS:
        raise ValidationError({"count": f"Ask for 1 to {MAX_SUGGESTIONS} suggestions."})
    assistant = intent.assistant
    rows = list(
        assistant.intents.values_list("name", "description", "utterances__text").order_by(
            "name", "utterances__id"
        )
    )
    own = [text for name, _, text in rows if name == intent.name and text]
    others = list(dict.fromkeys((name, about) for name, about, _ in rows if name != intent.name))
    messages = utterance_messages(
        name=intent.name,
        description=intent.description,
        examples=own,
        others=others,
        language=assistant.get_language_display(),
        count=count,
    )
    candidates = utterances_generate(messages, count=count, scope=_scope(assistant))
    known = [(text, name) for name, _, text in rows if text]
    suggestions = utterances_screen(candidates, intent.name, known)
    return {"suggestions": suggestions, "dropped": len(candidates) - len(suggestions)}


def utterances_screen(
    candidates: Sequence[str], intent: str, known: Sequence[tuple[str, str]]
) -> list[dict[str, Any]]:
    """Drop exact copies (of any intent's example or of each other) and near duplicates of the
    intent's own examples; flag the rest that sit with another intent's examples."""
    from nlu.store import registry

    taken = {normalised(text) for text, _ in known}
    fresh = []
    for text in candidates:
        key = normalised(text)
        if key and key not in taken:
            taken.add(key)
            fresh.append(text)
    if not fresh:
        return []
    encoder = registry().encoder
    vectors = encoder.embed(fresh)
    known_vectors = encoder.embed([text for text, _ in known]) if known else np.zeros((0, 1))
    labels = [name for _, name in known]
    conflicts = placement(vectors, intent, known_vectors, labels, [t for t, _ in known])
    compared = [v for v, label in zip(known_vectors, labels, strict=True) if label == intent]
    kept: list[dict[str, Any]] = []
    for text, vector, conflict in zip(fresh, vectors, conflicts, strict=True):
        if any(float(vector @ other) >= NEAR_DUPLICATE for other in compared):
            continue
        kept.append({"text": text, "conflict": conflict})
        compared.append(vector)
    return kept


def entity_values_suggest(*, entity: Entity, count: int = 10) -> dict[str, Any]:
    """New values (with synonyms) for a list entity, and new synonyms of existing values:
    ``{"values": [{value, synonyms}], "synonyms": [{value, synonyms}]}``; nothing already
    written (as a value or a synonym) comes back."""
    if entity.kind != EntityKind.LIST:
        raise ValidationError({"entity": "Only list entities have values to suggest."})
    if not 1 <= count <= MAX_SUGGESTIONS:
        raise ValidationError({"count": f"Ask for 1 to {MAX_SUGGESTIONS} suggestions."})
    existing = entity.values or []
    listed = "\n".join(
        f"- {item['value']}"
        + (f" (also: {', '.join(item['synonyms'])})" if item["synonyms"] else "")
        for item in existing[:60]
    )
    messages = [
        {
            "role": "system",
            "content": (
                f"You extend the list of values of the entity “{entity.name}” of a chatbot, "
                f"in {entity.assistant.get_language_display()}. Its values so far:\n{listed}\n"
                f"Give up to {count} new values of the same kind, each with the synonyms, "
                "abbreviations and common misspellings users type for it; also give existing "
                "values again with synonyms they are missing."
            ),
        },
        {"role": "user", "content": f"New values for {entity.name}, please."},
    ]
    answer = structured(
        messages,
        SuggestedValues,
        scope=_scope(entity.assistant),
        cache="off",
        temperature=0.7,
        max_tokens=900,
    )
    by_value = {normalised(item["value"]): item for item in existing}
    taken = set(by_value) | {normalised(s) for item in existing for s in item["synonyms"]}
    values, synonyms = [], []
    for item in answer.value.values:
        value = " ".join(item.value.split())
        key = normalised(value)
        if not key:
            continue
        fresh = []
        for synonym in item.synonyms:
            synonym = " ".join(synonym.split())
            if normalised(synonym) and normalised(synonym) not in taken | {key}:
                taken.add(normalised(synonym))
                fresh.append(synonym)
        if key in by_value:
            if fresh:
                synonyms.append({"value": by_value[key]["value"], "synonyms": fresh})
        elif key not in taken:
            taken.add(key)
            values.append({"value": value, "synonyms": fresh})
    return {"values": values[:count], "synonyms": synonyms}


def intent_synthesise(*, intent: Intent, count: int = 10) -> list[str]:
    """Cold start: write a starting set of utterances for an intent from its name and
    description, keep those that do not sit with another intent, and add them (the NLU
    retrains). Returns what was added."""
    from builder.services.nlu import utterances_add

    suggested = utterances_suggest(intent=intent, count=count)["suggestions"]
    texts = [row["text"] for row in suggested if row["conflict"] is None]
    if texts:
        utterances_add(intent=intent, utterances=texts)
    return texts


def synthesis_request(*, intent: Intent, count: int = 10) -> None:
    """Synthesise an intent's starting utterances in the background, after this transaction."""
    from django.db import transaction

    from builder.tasks import intent_synthesis  # the task module imports this one

    intent_id = intent.pk
    transaction.on_commit(lambda: intent_synthesis(intent_id, count))
