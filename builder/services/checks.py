"""Pre-train checks: what in an assistant's NLU data is likely to hurt the model, found before each
training and shown to the creator. They never block a training; each says what to fix.

- too few utterances for an intent (the model cannot learn it from one or two examples);
- the same utterance under two intents (the model is told two answers) or twice in one intent;
- annotations with an entity the assistant does not have;
- entities nothing uses (no annotation, required entity or capture step; see ``usages``);
- intents no flow can reach (no trigger, step route or condition uses them);
- empty or very long utterances.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import asdict, dataclass, field
from typing import Any

from builder.services.usages import entity_uses_by_name, intent_uses_by_name
from core.models import Assistant, Utterance
from nlu.data import normalised

MIN_UTTERANCES = 5
MAX_UTTERANCE_CHARS = 300


@dataclass(frozen=True)
class Finding:
    kind: str
    severity: str  # "error": the model learns something wrong; "warning": it learns poorly
    message: str
    intents: list[str] = field(default_factory=list)
    utterances: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def pretrain_checks(assistant: Assistant) -> list[Finding]:
    findings: list[Finding] = []
    rows = list(
        Utterance.objects.filter(intent__assistant=assistant).values_list(
            "text", "intent__name", "entities"
        )
    )
    intents = list(assistant.intents.order_by("name").values_list("name", flat=True))
    counts: dict[str, int] = defaultdict(int)
    for _, intent, _ in rows:
        counts[intent] += 1
    for name in intents:
        if counts[name] < MIN_UTTERANCES:
            findings.append(
                Finding(
                    "too_few_utterances",
                    "warning",
                    f"“{name}” has {counts[name]} utterance{'s' if counts[name] != 1 else ''}; "
                    f"give it at least {MIN_UTTERANCES} varied ones.",
                    intents=[name],
                )
            )
    findings += _duplicates(rows)
    entities = set(assistant.entities.values_list("name", flat=True))
    unknown: dict[str, list[str]] = defaultdict(list)
    for text, _, spans in rows:
        for span in spans or []:
            if span["entity"] not in entities:
                unknown[span["entity"]].append(text)
    for entity, texts in sorted(unknown.items()):
        findings.append(
            Finding(
                "unknown_entity",
                "error",
                f"{len(texts)} utterance(s) mark “{entity}”, which is not an entity of this "
                "assistant: create it or remove the marks.",
                utterances=texts[:10],
            )
        )
    used = entity_uses_by_name(assistant)
    for entity in sorted(entities - set(used)):
        findings.append(
            Finding(
                "unused_entity",
                "warning",
                f"Nothing uses the entity “{entity}”: no utterance marks it, no intent requires it "
                "and no capture step asks for it.",
            )
        )
    if assistant.flows.exists():
        routed = intent_uses_by_name(assistant)
        for name in intents:
            if name not in routed:
                findings.append(
                    Finding(
                        "unreachable_intent",
                        "warning",
                        f"No flow routes on “{name}”: add a global trigger or a step that "
                        "follows it, or the assistant recognises it and does nothing with it.",
                        intents=[name],
                    )
                )
    for text, intent, _ in rows:
        if not normalised(text):
            findings.append(
                Finding(
                    "empty_utterance",
                    "error",
                    f"An utterance of “{intent}” has no words.",
                    intents=[intent],
                    utterances=[text],
                )
            )
        elif len(text) > MAX_UTTERANCE_CHARS:
            findings.append(
                Finding(
                    "long_utterance",
                    "warning",
                    f"An utterance of “{intent}” is {len(text)} characters long; users write "
                    "short messages, and long examples blur what the intent is about.",
                    intents=[intent],
                    utterances=[text[:120] + "…"],
                )
            )
    return findings


def _duplicates(rows: list[tuple[str, str, Any]]) -> list[Finding]:
    seen: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for text, intent, _ in rows:
        if normalised(text):
            seen[normalised(text)].append((text, intent))
    findings = []
    for copies in seen.values():
        if len(copies) < 2:
            continue
        names = sorted({intent for _, intent in copies})
        if len(names) > 1:
            findings.append(
                Finding(
                    "duplicate_across_intents",
                    "error",
                    f"“{copies[0][0]}” is an example of {', '.join(names)}: keep it in one.",
                    intents=names,
                    utterances=[text for text, _ in copies],
                )
            )
        else:
            findings.append(
                Finding(
                    "duplicate",
                    "warning",
                    f"“{copies[0][0]}” appears {len(copies)} times in {names[0]}.",
                    intents=names,
                    utterances=[text for text, _ in copies],
                )
            )
    return findings
