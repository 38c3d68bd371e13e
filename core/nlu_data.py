"""An assistant's NLU data as the in-house models read it: its utterances as examples, its
entities as a matcher, and a hash that changes whenever either does. Training, evaluations and
comparisons all read the data through here."""

from __future__ import annotations

import hashlib
import json
import os
import re

from django.conf import settings

from core.models import Assistant, EntityKind, Utterance
from nlu.data import EntitySpan, Example
from nlu.entities import EntityMatcher, ListEntity, RegexEntity


def name_importable(name: str) -> str:
    """A name from another tool made valid here: other characters become '_' ("card_payment?"
    becomes "card_payment"); imports and test sets apply the same rule, so labels still match."""
    cleaned = re.sub(r"[^A-Za-z0-9_.-]+", "_", name.strip())
    return cleaned.strip("_.-") or name.strip()


def nlu_examples(assistant: Assistant) -> list[Example]:
    rows = Utterance.objects.filter(intent__assistant=assistant).values_list(
        "text", "intent__name", "entities"
    )
    return [
        Example(
            text=text,
            intent=intent,
            entities=tuple(
                EntitySpan(span["start"], span["end"], span["entity"], span["value"])
                for span in spans
            ),
        )
        for text, intent, spans in rows.order_by("intent__name", "id")
    ]


def nlu_matcher(assistant: Assistant) -> EntityMatcher:
    entities = list(assistant.entities.all())
    return EntityMatcher(
        lists=[
            ListEntity(e.name, {v["value"]: v["synonyms"] for v in e.values})
            for e in entities
            if e.kind == EntityKind.LIST
        ],
        regexes=[RegexEntity(e.name, e.pattern) for e in entities if e.kind == EntityKind.REGEX],
        builtins=sorted({e.builtin for e in entities if e.kind == EntityKind.BUILTIN}),
    )


def nlu_data_hash(assistant: Assistant) -> str:
    """Changes whenever anything the NLU learns from changes."""
    data = {
        "examples": [
            (example.text, example.intent, example.entities) for example in nlu_examples(assistant)
        ],
        "entities": list(
            assistant.entities.order_by("name").values_list(
                "name", "kind", "values", "pattern", "builtin"
            )
        ),
    }
    return hashlib.sha256(json.dumps(data, default=str).encode()).hexdigest()


def finetune_threads() -> int | None:
    """Cores an accurate-mode fine-tuning may use: tasks that run inside the chat server leave
    one core to the live chats (minutes of torch on every core would stall their turns)."""
    if settings.TASKS_IN_PROCESS:
        return max(1, (os.cpu_count() or 1) - 1)
    return None
