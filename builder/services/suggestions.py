"""Suggested training data from an LLM, through the gateway with structured output: new
utterances for an intent, values and synonyms for a list entity, and a starting set for an intent
that has none (cold start).

Suggestions are cleaned before the creator sees them: never an exact copy of an existing example,
near duplicates of the intent's own examples dropped (they teach nothing), and each checked
against the other intents (an utterance that sits with another intent's examples comes back
flagged, with the closest example as the reason). The creator accepts or rejects each.

Entity values are asked for in a bounded answer (at most ``VALUES_PER_ANSWER`` values of at most
``MAX_VALUE_SYNONYMS`` synonyms, within a token budget sized for them). An answer cut off at the
token limit, or with items that do not fit the schema, still gives the values it wrote in full,
with a note saying what was left out; only an answer with nothing readable is refused.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Sequence
from typing import Any

import numpy as np
import pydantic
from django.core.exceptions import ValidationError

from builder.services.nlu import utterances_add
from core.models import UTTERANCE_MAX_LENGTH, Assistant, Entity, EntityKind, Intent
from core.tasks import job_enqueue
from gateway.calls import structured
from gateway.errors import GatewayError, OutputInvalid, Refused, Truncated
from gateway.ledger import CallScope
from gateway.models import Purpose
from gateway.structured import complete_items
from nlu.analysis import NEAR_DUPLICATE, placement
from nlu.data import normalised
from nlu.store import registry

logger = logging.getLogger(__name__)

MAX_SUGGESTIONS = 25
PROMPT_EXAMPLES = 20  # existing utterances shown to the model
PROMPT_OTHER_INTENTS = 40
# Entity values: what one answer may hold, and the tokens it is given for each value (a value,
# its synonyms and the JSON around them take about 30).
VALUES_PER_ANSWER = 12
MAX_VALUE_SYNONYMS = 4
TOKENS_PER_VALUE = 60
NOTHING_READABLE = "The LLM's answer had no values that could be read; try again."


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
    value: str = pydantic.Field(min_length=1, description="The canonical value.")
    synonyms: list[str] = pydantic.Field(
        max_length=MAX_VALUE_SYNONYMS, description="Other ways users write the same value."
    )

    @pydantic.field_validator("synonyms", mode="before")
    @classmethod
    def _first_synonyms(cls, synonyms: Any) -> Any:
        """More synonyms than asked for are not a reason to lose the value."""
        return synonyms[:MAX_VALUE_SYNONYMS] if isinstance(synonyms, list) else synonyms


def readable_values(items: Sequence[Any]) -> tuple[list[SuggestedValue], int]:
    """The items that are values as the schema describes them, and how many were not."""
    readable = []
    for item in items:
        try:
            readable.append(SuggestedValue.model_validate(item))
        except pydantic.ValidationError:
            continue
    return readable, len(items) - len(readable)


class SuggestedValues(pydantic.BaseModel):
    """The answer: its readable values; ``unreadable`` counts the items left out. Only an
    answer without one readable value fails validation (and is asked again)."""

    values: list[SuggestedValue]
    _unreadable: int = pydantic.PrivateAttr(default=0)

    @pydantic.model_validator(mode="wrap")
    @classmethod
    def _readable_only(cls, data: Any, handler: pydantic.ValidatorFunctionWrapHandler) -> Any:
        items = data.get("values") if isinstance(data, dict) else None
        if not isinstance(items, list) or not items:
            return handler(data)
        readable, unreadable = readable_values(items)
        if not readable:
            raise ValueError("no item of values has a value and a list of synonyms")
        answer = handler({**data, "values": readable})
        answer._unreadable = unreadable
        return answer

    @property
    def unreadable(self) -> int:
        return self._unreadable


@functools.cache
def values_schema(count: int) -> type[SuggestedValues]:
    """``{"values": [{value, synonyms}]}`` with 1 to ``count`` items, for the model's grammar
    and prompt; more items are accepted (and cut to ``count`` by the caller)."""
    return pydantic.create_model(
        "SuggestedValues",
        __base__=SuggestedValues,
        values=(
            list[SuggestedValue],
            pydantic.Field(min_length=1, json_schema_extra={"maxItems": count}),
        ),
    )


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
    ``{"values": [{value, synonyms}], "synonyms": [{value, synonyms}], "note": str | None}``;
    nothing already written (as a value or a synonym) comes back. At most
    ``VALUES_PER_ANSWER`` values are asked for at once. ``note`` says when part of the answer
    was left out (cut off, or unreadable items); raises ``ValidationError`` when nothing in it
    could be read, ``GatewayError`` when no model answered."""
    if entity.kind != EntityKind.LIST:
        raise ValidationError({"entity": "Only list entities have values to suggest."})
    if not 1 <= count <= MAX_SUGGESTIONS:
        raise ValidationError({"count": f"Ask for 1 to {MAX_SUGGESTIONS} suggestions."})
    asked = min(count, VALUES_PER_ANSWER)
    existing = entity.values or []
    items, note = values_generate(
        value_messages(entity, existing, asked), count=asked, scope=_scope(entity.assistant)
    )
    values, synonyms = values_screen(items, existing)
    return {"values": values[:count], "synonyms": synonyms, "note": note}


def value_messages(
    entity: Entity, existing: Sequence[dict[str, Any]], count: int
) -> list[dict[str, str]]:
    """The prompt for up to ``count`` new values of a list entity."""
    listed = "\n".join(
        f"- {item['value']}"
        + (f" (also: {', '.join(item['synonyms'])})" if item["synonyms"] else "")
        for item in existing[:60]
    )
    return [
        {
            "role": "system",
            "content": (
                f"You extend the list of values of the entity “{entity.name}” of a chatbot, "
                f"in {entity.assistant.get_language_display()}. Its values so far:\n{listed}\n"
                f"Give up to {count} new values of the same kind, each with at most "
                f"{MAX_VALUE_SYNONYMS} synonyms, abbreviations or common misspellings users "
                "type for it; also give existing values again with synonyms they are missing."
            ),
        },
        {"role": "user", "content": f"New values for {entity.name}, please."},
    ]


def values_generate(
    messages: list[dict[str, str]], *, count: int, scope: CallScope
) -> tuple[list[SuggestedValue], str | None]:
    """Up to about ``count`` values from the model and a note on what was left out (None when
    nothing was): of an answer cut off at the token limit, the values written in full; of one
    with unreadable items, the readable ones. Raises ``ValidationError`` when none could be
    read, ``GatewayError`` when no model answered."""
    try:
        answer = structured(
            messages,
            values_schema(count),
            scope=scope,
            cache="off",
            temperature=0.7,
            max_tokens=TOKENS_PER_VALUE * (count + 1),
        )
    except Truncated as error:
        items, _ = readable_values(complete_items(error.partial_text))
        if not items:
            raise ValidationError(NOTHING_READABLE) from None
        return items, (
            f"The LLM's answer was cut off; these are the {len(items)} value(s) it wrote in full."
        )
    except OutputInvalid:
        raise ValidationError(NOTHING_READABLE) from None
    except Refused as error:
        raise ValidationError(f"The LLM would not suggest values ({error}).") from None
    unreadable = answer.value.unreadable
    note = (
        f"{unreadable} item(s) of the LLM's answer could not be read and were left out."
        if unreadable
        else None
    )
    return list(answer.value.values), note


def values_screen(
    items: Sequence[SuggestedValue], existing: Sequence[dict[str, Any]]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """New values, and new synonyms of existing values; whitespace-normalised, and nothing
    already written (as a value or a synonym, here or earlier in the answer) twice."""
    by_value = {normalised(item["value"]): item for item in existing}
    taken = set(by_value) | {normalised(s) for item in existing for s in item["synonyms"]}
    values: list[dict[str, Any]] = []
    synonyms: list[dict[str, Any]] = []
    for item in items:
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
    return values, synonyms


def intent_synthesise(*, intent: Intent, count: int = 10) -> list[str]:
    """Cold start: write a starting set of utterances for an intent from its name and
    description, keep those that do not sit with another intent, and add them (the NLU
    retrains). Returns what was added."""
    suggested = utterances_suggest(intent=intent, count=count)["suggestions"]
    texts = [row["text"] for row in suggested if row["conflict"] is None]
    if texts:
        utterances_add(intent=intent, utterances=texts)
    return texts


def synthesis_request(*, intent: Intent, count: int = 10) -> None:
    """Synthesise an intent's starting utterances in the background, after this transaction."""
    job_enqueue("synthesis", intent.pk, count)


def intent_synthesis_execute(intent_id: int, count: int) -> None:
    """The background half of ``synthesis_request``. A failure is logged; the intent page still
    offers to try again."""
    intent = Intent.objects.select_related("assistant").filter(pk=intent_id).first()
    if intent is None:
        return
    try:
        intent_synthesise(intent=intent, count=count)
    except GatewayError:
        logger.exception("synthesising utterances for intent %s failed", intent_id)
