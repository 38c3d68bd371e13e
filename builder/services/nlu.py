"""Intents, utterances and entities; every change queues a training of the draft NLU model."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

import regex
from django.core.exceptions import ValidationError
from django.db import transaction

from builder.services.training import training_request
from builder.services.usages import entity_uses, intent_uses, uses_sentence
from builder.services.workspaces import clean_name
from core.models import UTTERANCE_MAX_LENGTH, Assistant, Entity, EntityKind, Intent, Utterance
from nlu.data import OUT_OF_SCOPE
from nlu.entities import BUILT_INS

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
MAX_UTTERANCES_AT_ONCE = 5000
MAX_LIST_VALUES = 5000


def _clean_identifier(name: str, what: str) -> str:
    cleaned = clean_name(name)
    if not NAME.match(cleaned):
        raise ValidationError(
            {"name": f"The {what} name may use letters, digits, '_', '-' and '.', no spaces."}
        )
    if cleaned.lower() == OUT_OF_SCOPE:
        raise ValidationError({"name": f"{OUT_OF_SCOPE!r} is reserved for out-of-scope examples."})
    return cleaned


# --- intents and utterances ---------------------------------------------------------------


@transaction.atomic
def intent_create(
    *,
    assistant: Assistant,
    name: str,
    description: str = "",
    utterances: Sequence[str | Mapping[str, Any]] = (),
    required_entities: Sequence[Mapping[str, Any]] = (),
) -> Intent:
    """Create an intent with its first utterances; the NLU retrains."""
    name = _clean_identifier(name, "intent")
    if assistant.intents.filter(name__iexact=name).exists():
        raise ValidationError({"name": f"This assistant already has an intent named {name!r}."})
    intent = Intent.objects.create(
        assistant=assistant,
        name=name,
        description=description.strip(),
        required_entities=_clean_required(assistant, required_entities),
    )
    if utterances:
        _utterances_insert(intent, utterances)
    training_request(assistant=assistant)
    return intent


@transaction.atomic
def intent_update(
    *,
    intent: Intent,
    name: str | None = None,
    description: str | None = None,
    required_entities: Sequence[Mapping[str, Any]] | None = None,
) -> Intent:
    """Rename an intent or change its description or required entities; omitted fields stay."""
    if name is not None:
        name = _clean_identifier(name, "intent")
        others = intent.assistant.intents.exclude(pk=intent.pk)
        if others.filter(name__iexact=name).exists():
            raise ValidationError({"name": f"This assistant already has an intent named {name!r}."})
        intent.name = name
    if description is not None:
        intent.description = description.strip()
    if required_entities is not None:
        intent.required_entities = _clean_required(intent.assistant, required_entities)
    intent.save(update_fields=["name", "description", "required_entities", "updated_at"])
    training_request(assistant=intent.assistant)
    return intent


@transaction.atomic
def intent_delete(*, intent: Intent) -> None:
    """Delete an intent unless a flow uses it (a trigger, a route or a condition): the refusal
    names each flow and step."""
    uses = intent_uses(intent)
    if uses:
        raise ValidationError({"name": uses_sentence(f"The intent “{intent.name}”", uses)})
    assistant = intent.assistant
    intent.delete()
    training_request(assistant=assistant)


@transaction.atomic
def utterances_add(
    *, intent: Intent, utterances: Sequence[str | Mapping[str, Any]]
) -> list[Utterance]:
    """Add utterances (bulk paste: plain lines, or ``{text, entities}``); duplicates are skipped.

    Any invalid line refuses the whole batch, naming the line.
    """
    added = _utterances_insert(intent, utterances)
    intent.save(update_fields=["updated_at"])
    training_request(assistant=intent.assistant)
    return added


@transaction.atomic
def utterance_update(
    *, utterance: Utterance, text: str, entities: Sequence[Mapping[str, Any]] = ()
) -> Utterance:
    intent = utterance.intent
    text, spans = _clean_utterance(intent.assistant, {"text": text, "entities": entities})
    if intent.utterances.exclude(pk=utterance.pk).filter(text__iexact=text).exists():
        raise ValidationError({"text": "This intent already has that utterance."})
    utterance.text, utterance.entities = text, spans
    utterance.save(update_fields=["text", "entities"])
    training_request(assistant=intent.assistant)
    return utterance


@transaction.atomic
def utterance_delete(*, utterance: Utterance) -> None:
    assistant = utterance.intent.assistant
    utterance.delete()
    training_request(assistant=assistant)


def _utterances_insert(
    intent: Intent, utterances: Sequence[str | Mapping[str, Any]]
) -> list[Utterance]:
    if len(utterances) > MAX_UTTERANCES_AT_ONCE:
        raise ValidationError(
            {"utterances": f"Add at most {MAX_UTTERANCES_AT_ONCE} utterances at once."}
        )
    existing = {text.lower() for text in intent.utterances.values_list("text", flat=True)}
    rows: list[Utterance] = []
    errors: list[str] = []
    for number, raw in enumerate(utterances, start=1):
        item = {"text": raw} if isinstance(raw, str) else raw
        try:
            text, spans = _clean_utterance(intent.assistant, item)
        except ValidationError as error:
            errors.extend(f"line {number}: {message}" for message in error.messages)
            continue
        if text.lower() in existing:
            continue
        existing.add(text.lower())
        rows.append(Utterance(intent=intent, text=text, entities=spans))
    if errors:
        raise ValidationError({"utterances": errors})
    return Utterance.objects.bulk_create(rows)


def _clean_utterance(
    assistant: Assistant, item: Mapping[str, Any]
) -> tuple[str, list[dict[str, Any]]]:
    if not isinstance(item, Mapping):
        raise ValidationError("An utterance is a text, or an object with text and entities.")
    raw_text = item.get("text")
    if not isinstance(raw_text, str):
        raise ValidationError("An utterance needs text.")
    text = " ".join(raw_text.split())
    if not text:
        raise ValidationError("An utterance cannot be blank.")
    if len(text) > UTTERANCE_MAX_LENGTH:
        raise ValidationError(f"An utterance has at most {UTTERANCE_MAX_LENGTH} characters.")
    if text != raw_text and item.get("entities"):
        raise ValidationError("Annotate text without extra spaces (offsets would move).")
    annotations = item.get("entities") or []
    if not isinstance(annotations, list):
        raise ValidationError("Annotations come as a list.")
    names = set(assistant.entities.values_list("name", flat=True))
    spans: list[dict[str, Any]] = []
    for span in annotations:
        try:
            start, end, entity = int(span["start"]), int(span["end"]), str(span["entity"])
        except (KeyError, TypeError, ValueError, OverflowError):
            raise ValidationError("An annotation needs start, end and entity.") from None
        if not 0 <= start < end <= len(text):
            raise ValidationError(f"The annotation {start}-{end} is outside the text.")
        if entity not in names:
            raise ValidationError(f"Unknown entity {entity!r}; create it first.")
        if any(start < other["end"] and other["start"] < end for other in spans):
            raise ValidationError(f"The annotation {start}-{end} overlaps another.")
        value = str(span.get("value") or text[start:end])
        spans.append({"start": start, "end": end, "entity": entity, "value": value})
    return text, sorted(spans, key=lambda span: span["start"])


def _clean_required(
    assistant: Assistant, required: Sequence[Mapping[str, Any]]
) -> list[dict[str, str]]:
    if not isinstance(required, (list, tuple)) or not all(
        isinstance(item, Mapping) for item in required
    ):
        raise ValidationError({"required_entities": "Give a list of {entity, prompt} objects."})
    names = set(assistant.entities.values_list("name", flat=True))
    cleaned = []
    for item in required:
        entity = str(item.get("entity", ""))
        if entity not in names:
            raise ValidationError({"required_entities": f"Unknown entity {entity!r}."})
        prompt = str(item.get("prompt", "")).strip()
        if not prompt:
            raise ValidationError(
                {"required_entities": f"Say how to ask for {entity!r} when it is missing."}
            )
        cleaned.append({"entity": entity, "prompt": prompt})
    return cleaned


# --- entities -----------------------------------------------------------------------------


@transaction.atomic
def entity_create(
    *,
    assistant: Assistant,
    name: str,
    kind: str = EntityKind.LIST,
    values: Sequence[Mapping[str, Any]] = (),
    pattern: str = "",
    builtin: str = "",
) -> Entity:
    """Create a list, regex or built-in entity; the NLU retrains."""
    name = _clean_identifier(name, "entity")
    if assistant.entities.filter(name__iexact=name).exists():
        raise ValidationError({"name": f"This assistant already has an entity named {name!r}."})
    entity = Entity(assistant=assistant, name=name)
    _entity_fill(entity, kind=kind, values=values, pattern=pattern, builtin=builtin)
    entity.save()
    training_request(assistant=assistant)
    return entity


@transaction.atomic
def entity_update(
    *,
    entity: Entity,
    kind: str | None = None,
    values: Sequence[Mapping[str, Any]] | None = None,
    pattern: str | None = None,
    builtin: str | None = None,
) -> Entity:
    """Change an entity's definition; its name stays (utterances and flows refer to it)."""
    _entity_fill(
        entity,
        kind=kind if kind is not None else entity.kind,
        values=values if values is not None else entity.values,
        pattern=pattern if pattern is not None else entity.pattern,
        builtin=builtin if builtin is not None else entity.builtin,
    )
    entity.save()
    training_request(assistant=entity.assistant)
    return entity


@transaction.atomic
def entity_delete(*, entity: Entity) -> None:
    """Delete an entity unless something uses it (an intent requires it, utterances are
    annotated with it, a flow step captures it): the refusal names each place."""
    uses = entity_uses(entity)
    if uses:
        raise ValidationError({"name": uses_sentence(f"The entity “{entity.name}”", uses)})
    assistant = entity.assistant
    entity.delete()
    training_request(assistant=assistant)


def _entity_fill(
    entity: Entity, *, kind: str, values: Sequence[Mapping[str, Any]], pattern: str, builtin: str
) -> None:
    if kind not in EntityKind.values:
        raise ValidationError({"kind": f"Use one of {', '.join(EntityKind.values)}."})
    entity.kind, entity.values, entity.pattern, entity.builtin = kind, [], "", ""
    if kind == EntityKind.LIST:
        entity.values = _clean_values(values)
    elif kind == EntityKind.REGEX:
        try:
            regex.compile(pattern)
        except regex.error as error:
            raise ValidationError({"pattern": f"The pattern does not compile: {error}."}) from None
        if not pattern:
            raise ValidationError({"pattern": "A regex entity needs a pattern."})
        entity.pattern = pattern
    else:
        if builtin not in BUILT_INS:
            raise ValidationError({"builtin": f"Use one of {', '.join(BUILT_INS)}."})
        entity.builtin = builtin


def _clean_values(values: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    if not values:
        raise ValidationError({"values": "A list entity needs at least one value."})
    if len(values) > MAX_LIST_VALUES:
        raise ValidationError({"values": f"A list entity has at most {MAX_LIST_VALUES} values."})
    cleaned: list[dict[str, Any]] = []
    seen: set[str] = set()
    for number, item in enumerate(values, start=1):
        value = " ".join(str(item.get("value", "")).split())
        if not value:
            raise ValidationError({"values": f"Value {number} is blank."})
        if value.lower() in seen:
            raise ValidationError({"values": f"The value {value!r} appears twice."})
        seen.add(value.lower())
        synonyms = list(dict.fromkeys(" ".join(str(s).split()) for s in item.get("synonyms", [])))
        cleaned.append({"value": value, "synonyms": [s for s in synonyms if s]})
    return cleaned
