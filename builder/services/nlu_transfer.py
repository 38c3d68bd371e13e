"""NLU data in and out as Rasa YAML or CSV, the formats other NLU tools read and write.

An import runs in one transaction: a document with errors is refused whole, each error naming
where it is, and nothing is half-saved. It reports what it skipped or renamed, and why.
"""

from __future__ import annotations

import csv
import io
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import yaml
from django.core.exceptions import ValidationError
from django.db import transaction

from builder.services.nlu import entity_create, entity_update, intent_create, utterances_add
from core.models import Assistant, EntityKind, Intent
from core.nlu_data import name_importable
from nlu.entities import fold

MAX_IMPORT_BYTES = 10_000_000  # one document to import: JSON, YAML or CSV


@dataclass
class ImportReport:
    intents_created: list[str] = field(default_factory=list)
    utterances_added: int = 0
    entities_created: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # "line 12: why"
    renamed: list[str] = field(default_factory=list)  # "a name? → a_name"

    def as_dict(self) -> dict[str, Any]:
        return {
            "intents_created": self.intents_created,
            "utterances_added": self.utterances_added,
            "entities_created": self.entities_created,
            "renamed": self.renamed,
            "skipped": self.skipped,
        }


# [text](entity), [text](entity:value), [text]{"entity": "e", "value": "v"}
ANNOTATION = re.compile(r"\[(?P<text>[^\]]+)\](?:\((?P<short>[^)]+)\)|(?P<json>\{[^}]*\}))")


def rasa_example(line: str) -> dict[str, Any]:
    """One Rasa example with inline annotations, as ``{text, entities}`` with offsets.

    Runs of whitespace become one space, as in every stored utterance, and the annotations move
    with their words: "pay  my [iron  bank](card)" is "pay my iron bank" with "iron bank" marked.
    """
    text, spans, position = "", [], 0
    for match in ANNOTATION.finditer(line):
        text += line[position : match.start()]
        start = len(text)
        text += match.group("text")
        entity, value = _annotation_label(match)
        spans.append({"start": start, "end": len(text), "entity": entity, "value": value})
        position = match.end()
    text += line[position:]
    return _whitespace_squeezed(text, spans)


def _annotation_label(match: re.Match[str]) -> tuple[str, str]:
    """The entity and value of ``[text](entity)``, ``[text](entity:value)`` or
    ``[text]{"entity": ..., "value": ...}``; the value is "" where the text is the value."""
    if match.group("short"):
        entity, _, value = match.group("short").partition(":")
        return entity.strip(), value
    try:
        data = yaml.safe_load(match.group("json"))
    except yaml.YAMLError:
        raise ValidationError(f"Cannot read the annotation {match.group(0)!r}.") from None
    if not isinstance(data, dict):
        raise ValidationError(f"Cannot read the annotation {match.group(0)!r}.")
    return str(data.get("entity", "")).strip(), str(data.get("value", "") or "")


def _one_spaced(text: str) -> str:
    return " ".join(text.split())


def _whitespace_squeezed(text: str, spans: list[dict[str, Any]]) -> dict[str, Any]:
    """``text`` with each run of whitespace one space and none at either end, and ``spans``
    moved to cover the same words; a span without a value gets its words as value."""
    out: list[str] = []
    landed: list[int] = []  # where each character of text is in out; -1: a space dropped
    pending = False
    for char in text:
        if char.isspace():
            pending, landing = bool(out), -1
        else:
            if pending:
                out.append(" ")
                pending = False
            landing = len(out)
            out.append(char)
        landed.append(landing)
    squeezed = "".join(out)
    moved = []
    for span in spans:
        kept = [at for at in landed[span["start"] : span["end"]] if at >= 0]
        if not kept:
            raise ValidationError(f"An annotation of {span['entity']!r} marks no words.")
        start, end = kept[0], kept[-1] + 1
        value = _one_spaced(span["value"]) or squeezed[start:end]
        moved.append({"start": start, "end": end, "entity": span["entity"], "value": value})
    return {"text": squeezed, "entities": moved}


@transaction.atomic
def nlu_import_rasa(*, assistant: Assistant, text: str) -> ImportReport:
    """Intents, examples with annotations, synonyms, regexes and lookup tables from Rasa's YAML
    NLU format (a ``data/nlu.yml`` of a Rasa 3 project)."""
    if len(text) > MAX_IMPORT_BYTES:
        raise ValidationError({"file": f"Import at most {MAX_IMPORT_BYTES // 1_000_000} MB."})
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"line {mark.line + 1}: " if mark is not None else ""
        raise ValidationError({"file": [f"{where}this is not valid YAML."]}) from None
    if not isinstance(document, dict) or not isinstance(document.get("nlu"), list):
        raise ValidationError({"file": ["A Rasa NLU file has a top-level 'nlu:' list."]})
    report = ImportReport()
    lines = text.splitlines()
    items = [item for item in document["nlu"] if isinstance(item, dict)]
    # Entities before utterances, whose annotations must name existing ones: values seen in
    # annotations and lookup tables become list entities, then regexes, then synonyms.
    values = _rasa_values(items)
    for name in sorted(values):
        if not assistant.entities.filter(name=name).exists():
            _rasa_entity(assistant, name, values[name], report)
    for item in items:
        if "regex" in item:
            _rasa_regex(assistant, item, report, lines)
    for item in items:
        if "synonym" in item:
            _rasa_synonym(assistant, item, report, lines)
    spellings = _value_spellings(assistant)
    for number, item in enumerate(document["nlu"], start=1):
        if not isinstance(item, dict):
            report.skipped.append(f"entry {number}: not a mapping")
        elif "intent" in item:
            _rasa_intent(assistant, item, report, lines, spellings)
        elif not {"regex", "lookup", "synonym"} & item.keys():
            report.skipped.append(f"entry {number}: unknown kind ({', '.join(map(str, item))})")
    return report


def _rasa_values(items: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """Each entity's list values, from its annotations and lookup table.

    Spellings of one value are merged: those that differ only by case or accents ("Emblem",
    "emblem", "café", "cafe"), and those a ``synonym:`` block gathers. The block's value, or else
    the most used spelling, is the value; the other spellings are its synonyms.
    """
    seen: dict[str, Counter[str]] = {}
    for item in items:
        for entity, spelling in _rasa_spellings(item):
            seen.setdefault(entity, Counter())[spelling] += 1
    blocks = _synonym_targets(items)
    return {entity: _merged(spellings, blocks) for entity, spellings in seen.items()}


def _rasa_spellings(item: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """The (entity, value) pairs an NLU entry names: its annotations, or its lookup table."""
    for example in _examples(item):
        try:
            spans = rasa_example(example)["entities"]
        except ValidationError:
            continue  # reported with its intent
        yield from ((span["entity"], span["value"]) for span in spans)
    if "lookup" in item:
        entity = str(item["lookup"])
        yield from ((entity, _one_spaced(entry)) for entry in _examples(item))


def _synonym_targets(items: list[dict[str, Any]]) -> dict[str, str]:
    """The value of the ``synonym:`` block naming each spelling (folded), the value included."""
    targets: dict[str, str] = {}
    for item in items:
        if "synonym" in item:
            value = _one_spaced(str(item["synonym"]))
            for spelling in [value, *_examples(item)]:
                targets.setdefault(fold(_one_spaced(spelling)), value)
    return targets


def _merged(spellings: Counter[str], targets: dict[str, str]) -> list[dict[str, Any]]:
    """One value per group of spellings, the others its synonyms, sorted by value."""
    groups: dict[str, list[str]] = {}
    for spelling, _ in spellings.most_common():  # ties: the first seen first
        value = targets.get(fold(spelling), spelling)
        groups.setdefault(fold(value), [value]).append(spelling)
    merged = [
        {"value": value, "synonyms": _distinct(others, value)} for value, *others in groups.values()
    ]
    return sorted(merged, key=lambda item: item["value"])


def _rasa_entity(
    assistant: Assistant, name: str, values: list[dict[str, Any]], report: ImportReport
) -> None:
    try:
        entity_create(assistant=assistant, name=name, values=values)
    except ValidationError as error:
        raise ValidationError({"file": [f"entity {name!r}: {' '.join(error.messages)}"]}) from None
    report.entities_created.append(name)


def _value_spellings(assistant: Assistant) -> dict[str, dict[str, str]]:
    """For each list entity, the value each spelling (folded) of a value or synonym stands for."""
    spellings: dict[str, dict[str, str]] = {}
    for entity in assistant.entities.filter(kind=EntityKind.LIST):
        known = {fold(s): v["value"] for v in entity.values for s in v["synonyms"]}
        known.update((fold(v["value"]), v["value"]) for v in entity.values)
        spellings[entity.name] = known
    return spellings


def _examples(item: Any) -> list[str]:
    if not isinstance(item, dict) or not isinstance(item.get("examples"), str):
        return []
    return [
        line.strip()[2:].strip()
        for line in item["examples"].splitlines()
        if line.strip().startswith("- ") and line.strip()[2:].strip()
    ]


def _line_of(lines: list[str], wanted: str, after: int = 0) -> int:
    """The number of the first line after line ``after`` that reads ``wanted`` (0: none)."""
    for number in range(after + 1, len(lines) + 1):
        if lines[number - 1].strip() in (wanted, f"- {wanted}"):
            return number
    return 0


def _rasa_intent(
    assistant: Assistant,
    item: dict[str, Any],
    report: ImportReport,
    lines: list[str],
    spellings: dict[str, dict[str, str]],
) -> None:
    original = str(item["intent"]).strip()
    where = _line_of(lines, f"intent: {original}")
    name = _importable(original, report)
    intent = assistant.intents.filter(name=name).first()
    if intent is None:
        try:
            intent = intent_create(assistant=assistant, name=name)
        except ValidationError as error:
            reason = " ".join(error.messages)
            report.skipped.append(f"line {where}: intent {name!r} skipped: {reason}")
            return
        report.intents_created.append(name)
    cursor = where
    for example in _examples(item):
        cursor = _line_of(lines, f"- {example}", cursor) or cursor
        try:
            parsed = rasa_example(example)
        except ValidationError as error:
            report.skipped.append(f"line {cursor}: {example!r} skipped: {' '.join(error.messages)}")
            continue
        parsed["entities"] = _valued(parsed["entities"], spellings)
        _add(report, intent, parsed, f"line {cursor}: {parsed['text']!r} skipped")


def _valued(
    spans: list[dict[str, Any]], spellings: dict[str, dict[str, str]]
) -> list[dict[str, Any]]:
    """``spans`` naming their entity's value where theirs is another spelling of it ("Emblem"
    for "emblem") or one of its synonyms, as Rasa's synonym mapping would."""
    return [
        {**span, "value": spellings.get(span["entity"], {}).get(fold(span["value"]), span["value"])}
        for span in spans
    ]


def _add(report: ImportReport, intent: Intent, utterance: str | dict[str, Any], where: str) -> None:
    """Add one utterance, counting it, or saying in the report why it was skipped."""
    try:
        added = utterances_add(intent=intent, utterances=[utterance])
    except ValidationError as error:
        report.skipped.append(f"{where}: {' '.join(error.messages).removeprefix('line 1: ')}")
        return
    if added:
        report.utterances_added += 1
    else:
        report.skipped.append(f"{where}: already there")


def _rasa_regex(
    assistant: Assistant, item: dict[str, Any], report: ImportReport, lines: list[str]
) -> None:
    name = str(item["regex"])
    line = _line_of(lines, f"regex: {name}")
    if assistant.entities.filter(name=name).exists():
        reason = "an entity of that name exists (a Parley entity has one kind)"
        report.skipped.append(f"line {line}: regex {name!r} skipped: {reason}")
        return
    pattern = "|".join(f"(?:{p})" for p in _examples(item))
    try:
        entity_create(assistant=assistant, name=name, kind=EntityKind.REGEX, pattern=pattern)
    except ValidationError as error:
        report.skipped.append(f"line {line}: regex {name!r} skipped: {' '.join(error.messages)}")
        return
    report.entities_created.append(name)


def _rasa_synonym(
    assistant: Assistant, item: dict[str, Any], report: ImportReport, lines: list[str]
) -> None:
    value = _one_spaced(str(item["synonym"]))
    owners = [
        entity
        for entity in assistant.entities.filter(kind=EntityKind.LIST)
        if any(fold(known["value"]) == fold(value) for known in entity.values)
    ]
    if not owners:
        line = _line_of(lines, f"synonym: {item['synonym']}")
        reason = "no annotation or lookup table has that value"
        report.skipped.append(f"line {line}: synonyms of {value!r} skipped: {reason}")
        return
    synonyms = [_one_spaced(synonym) for synonym in _examples(item)]
    for owner in owners:
        grown = [
            {**known, "synonyms": _distinct([*known["synonyms"], *synonyms], known["value"])}
            if fold(known["value"]) == fold(value)
            else known
            for known in owner.values
        ]
        if grown != owner.values:
            entity_update(entity=owner, values=grown)


def _distinct(synonyms: list[str], value: str) -> list[str]:
    """``synonyms`` without repeats, nor the value itself."""
    return [synonym for synonym in dict.fromkeys(synonyms) if synonym != value]


def nlu_export_rasa(assistant: Assistant) -> str:
    """The assistant's NLU data in Rasa 3's YAML format."""
    lines = ['version: "3.1"', "nlu:"]
    for intent in assistant.intents.order_by("name").prefetch_related("utterances"):
        lines += [f"- intent: {intent.name}", "  examples: |"]
        for utterance in intent.utterances.order_by("id"):
            lines.append(f"    - {_annotated(utterance.text, utterance.entities)}")
    for entity in assistant.entities.order_by("name"):
        if entity.kind == EntityKind.REGEX:
            lines += [f"- regex: {entity.name}", "  examples: |", f"    - {entity.pattern}"]
        elif entity.kind == EntityKind.LIST:
            lines += [f"- lookup: {entity.name}", "  examples: |"]
            lines += [f"    - {value['value']}" for value in entity.values]
            for value in entity.values:
                if value["synonyms"]:
                    lines += [f"- synonym: {value['value']}", "  examples: |"]
                    lines += [f"    - {synonym}" for synonym in value["synonyms"]]
    return "\n".join(lines) + "\n"


def _annotated(text: str, spans: list[dict[str, Any]]) -> str:
    out, position = "", 0
    for span in sorted(spans, key=lambda s: s["start"]):
        shown = text[span["start"] : span["end"]]
        label = span["entity"] if span["value"] == shown else f"{span['entity']}:{span['value']}"
        out += text[position : span["start"]] + f"[{shown}]({label})"
        position = span["end"]
    return out + text[position:]


def _importable(name: str, report: ImportReport) -> str:
    cleaned = name_importable(name)
    if cleaned != name and f"{name} → {cleaned}" not in report.renamed:
        report.renamed.append(f"{name} → {cleaned}")
    return cleaned


@transaction.atomic
def nlu_import_csv(*, assistant: Assistant, text: str) -> ImportReport:
    """Rows of ``text,intent`` (a header row is recognised and skipped)."""
    if len(text) > MAX_IMPORT_BYTES:
        raise ValidationError({"file": f"Import at most {MAX_IMPORT_BYTES // 1_000_000} MB."})
    report = ImportReport()
    by_intent: dict[str, list[tuple[int, str]]] = {}
    try:
        lines = list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error as error:
        raise ValidationError({"file": f"The CSV cannot be read ({error})."}) from None
    for number, row in enumerate(lines, start=1):
        if number == 1 and [cell.strip().lower() for cell in row[:2]] == ["text", "intent"]:
            continue
        if not row or not any(cell.strip() for cell in row):
            continue
        if len(row) < 2 or not row[0].strip() or not row[1].strip():
            report.skipped.append(f"line {number}: needs text and intent")
            continue
        by_intent.setdefault(_importable(row[1].strip(), report), []).append((number, row[0]))
    for name, rows in by_intent.items():
        intent = assistant.intents.filter(name=name).first()
        if intent is None:
            try:
                intent = intent_create(assistant=assistant, name=name)
            except ValidationError as error:
                report.skipped.extend(f"line {n}: {' '.join(error.messages)}" for n, _ in rows)
                continue
            report.intents_created.append(name)
        for number, utterance in rows:
            _add(report, intent, utterance, f"line {number}")
    return report


def nlu_export_csv(assistant: Assistant) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["text", "intent"])
    rows = assistant.intents.values_list("utterances__text", "name")
    for text, intent in rows.order_by("name", "utterances__id"):
        if text is not None:
            writer.writerow([text, intent])
    return out.getvalue()
