"""Moving assistants in and out: the whole assistant as JSON (a zip archive of that JSON and its
knowledge base's files when it has any), and NLU data as Rasa YAML or CSV.

Every import runs in one transaction: a document with errors is refused whole, each error naming
where it is, and nothing is half-saved. Imports also report what they skipped or could not carry,
and why.
"""

from __future__ import annotations

import copy
import csv
import io
import itertools
import json
import re
import zipfile
import zlib
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import IO, Any

import yaml
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.text import slugify

from builder.services.assistants import (
    assistant_create,
    assistant_llm_policy_update,
    assistant_update,
)
from builder.services.flows import flow_create
from builder.services.nlu import entity_create, entity_update, intent_create, utterances_add
from builder.services.prompts import prompt_create, prompt_version_create
from builder.services.versions import EXPORT_FORMAT, assistant_export, assistant_settings
from core.models import Assistant, EntityKind, Intent, Workspace
from core.nlu_data import name_importable
from gateway.models import LlmModel
from nlu.entities import fold
from quality.services.conversation_tests import conversation_test_create
from quality.services.prompt_tests import prompt_test_case_create

MAX_IMPORT_BYTES = 10_000_000


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


def _prefixed(error: ValidationError, where: str) -> ValidationError:
    messages = (
        [f"{where}, {key}: {m}" for key, ms in error.message_dict.items() for m in ms]
        if hasattr(error, "error_dict")
        else [f"{where}: {m}" for m in error.messages]
    )
    return ValidationError({"document": messages})


# --- the whole assistant: JSON, or a zip archive of that JSON and its documents' files -------

ARCHIVE_MANIFEST = "assistant.json"  # the export's JSON, in an archive beside documents/<name>
MAX_ARCHIVE_BYTES = 500_000_000
MAX_COUNT = 2**31 - 1  # what an integer column holds
EARLIER_FORMATS = (1,)  # still imported: they hold no settings, prompt tests or knowledge base
_ZIP_ERRORS = (
    zipfile.BadZipFile,
    zipfile.LargeZipFile,
    EOFError,
    OSError,
    ValueError,
    NotImplementedError,
    RuntimeError,  # an encrypted member
    zlib.error,
)

# What an export never holds: made by using the assistant, or kept by each installation.
NEVER_CARRIED = (
    "trained NLU models (the copy trains its own)",
    "published versions",
    "conversations, their transcripts and feedback",
    "LLM usage and cost history",
    "runs and reports of trainings, evaluations and tests",
    "which conversation or LLM call a test was saved from",
    "secrets: LLM provider API keys stay in each installation's environment",
)


@dataclass
class AssistantImport:
    """An imported assistant, and what of it did not come along (and why), for the report."""

    assistant: Assistant
    not_carried: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class ExportFile:
    """The whole assistant as a file to download."""

    data: bytes
    filename: str
    content_type: str


def assistant_export_file(assistant: Assistant) -> ExportFile:
    """The whole assistant as a file: ``assistant_export``'s JSON, or, when its knowledge base
    holds uploaded files, a zip archive of that JSON (``assistant.json``) and the files
    (``documents/<name>``)."""
    from knowledge.transfer import knowledge_files  # knowledge's services import this module

    manifest = json.dumps(assistant_export(assistant), indent=2, ensure_ascii=False).encode()
    stem = slugify(assistant.name) or "assistant"
    files = knowledge_files(assistant)
    first = next(files, None)
    if first is None:
        return ExportFile(manifest, f"{stem}.json", "application/json")
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(ARCHIVE_MANIFEST, manifest)
        for path, data in itertools.chain([first], files):
            archive.writestr(path, data)
    return ExportFile(out.getvalue(), f"{stem}.zip", "application/zip")


def assistant_import_file(
    *, workspace: Workspace, upload: IO[bytes], name: str | None = None
) -> AssistantImport:
    """Create an assistant from an export file, the zip archive or the plain JSON (see
    ``assistant_export_file``); as ``assistant_import``, one that cannot be read creates
    nothing."""
    if zipfile.is_zipfile(upload):
        upload.seek(0, io.SEEK_END)
        if upload.tell() > MAX_ARCHIVE_BYTES:
            message = f"Import an archive of at most {MAX_ARCHIVE_BYTES // 1_000_000} MB."
            raise ValidationError({"file": [message]})
        upload.seek(0)
        try:
            archive = zipfile.ZipFile(upload)
        except _ZIP_ERRORS:
            raise ValidationError({"file": ["This zip archive cannot be read."]}) from None
        with archive:
            if ARCHIVE_MANIFEST not in archive.namelist():
                message = f"The archive has no {ARCHIVE_MANIFEST}: it is not a Parley export."
                raise ValidationError({"file": [message]})
            document = _json_of(_archived(archive, ARCHIVE_MANIFEST, MAX_IMPORT_BYTES))
            files = _ArchiveFiles(archive)
            return assistant_import(workspace=workspace, document=document, name=name, files=files)
    upload.seek(0)
    document = _json_of(upload.read(MAX_IMPORT_BYTES + 1))
    return assistant_import(workspace=workspace, document=document, name=name)


def _json_of(data: bytes) -> Any:
    if len(data) > MAX_IMPORT_BYTES:
        raise ValidationError({"file": [f"Upload at most {MAX_IMPORT_BYTES // 1_000_000} MB."]})
    try:
        return json.loads(data.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise ValidationError({"file": ["The file is not UTF-8 text."]}) from None
    except json.JSONDecodeError as error:
        raise ValidationError({"file": [f"Line {error.lineno}: this is not valid JSON."]}) from None


def _archived(archive: zipfile.ZipFile, path: str, limit: int) -> bytes:
    """A member's bytes, at most ``limit`` and one more (whatever its header claims)."""
    try:
        with archive.open(path) as member:
            return member.read(limit + 1)
    except _ZIP_ERRORS:
        raise ValidationError(f"“{path}” in the archive cannot be read.") from None


class _ArchiveFiles(Mapping[str, bytes]):
    """The files of an export archive, each read when the import asks for it; one larger than
    this installation takes is refused without being read."""

    def __init__(self, archive: zipfile.ZipFile) -> None:
        self._archive = archive
        self._sizes = {info.filename: info.file_size for info in archive.infolist()}

    def __getitem__(self, path: str) -> bytes:
        size = self._sizes[path]  # KeyError: not in the archive
        limit = settings.KB_MAX_DOCUMENT_BYTES
        if size > limit:
            raise ValidationError(
                f"its file is {size / 1_000_000:.1f} MB; the limit is {limit / 1_000_000:g} MB."
            )
        return _archived(self._archive, path, limit)

    def __iter__(self) -> Iterator[str]:
        return iter(self._sizes)

    def __len__(self) -> int:
        return len(self._sizes)


@transaction.atomic
def assistant_import(
    *,
    workspace: Workspace,
    document: Any,
    name: str | None = None,
    files: Mapping[str, bytes] | None = None,
) -> AssistantImport:
    """Create an assistant from ``assistant_export``'s JSON, its documents' files from ``files``
    (an archive's, by path); its NLU trains and its documents are read once it commits.

    An entry with errors refuses the whole import, naming where it is; what could not come
    along (a document whose file is missing, a model this installation lacks) and what an export
    never holds are listed in the result's ``not_carried``.
    """
    known = (EXPORT_FORMAT, *EARLIER_FORMATS)
    if not isinstance(document, dict) or document.get("format") not in known:
        message = f"Not a Parley assistant export (format {EXPORT_FORMAT})."
        raise ValidationError({"document": [message]})
    about = document.get("assistant") or {}
    try:
        assistant = assistant_create(
            workspace=workspace,
            name=name or str(about.get("name", "")),
            description=str(about.get("description", "")),
            language=str(about.get("language", "en")),
        )
    except (ValidationError, AttributeError) as error:
        raise _prefixed(_as_validation(error), "assistant") from None
    result = AssistantImport(assistant=assistant)
    _settings_import(result, document.get("settings"))  # before the intents: the NLU's mode
    _entities_import(assistant, document.get("entities"))
    _intents_import(assistant, document.get("intents"))
    prompt_ids = _prompts_import(assistant, document.get("prompts"))
    _flows_import(assistant, document.get("flows"), prompt_ids)
    _conversation_tests_import(assistant, document.get("conversation_tests"))
    _knowledge_import(result, document.get("knowledge_base"), files)
    if document["format"] in EARLIER_FORMATS:
        result.not_carried.append(
            "settings, prompt test cases and the knowledge base: an export of the earlier "
            f"format {document['format']} holds none of them"
        )
    result.not_carried.extend(NEVER_CARRIED)
    return result


def _entries(value: Any, where: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise ValidationError({"document": [f"{where}: not a JSON list."]})
    return value


def _settings_import(result: AssistantImport, data: Any) -> None:
    """The allowed sites, NLU, hybrid understanding, LLM policy and publishing rule; an LLM model
    this installation does not have leaves the copy on the default one, reported."""
    if data is None:
        return
    assistant = result.assistant
    try:
        if not isinstance(data, dict):
            raise ValidationError("The settings are not a JSON object.")
        # The exported settings over the new assistant's own, for any an export leaves out.
        wanted: dict[str, Any] = {**assistant_settings(assistant), **data}
        threshold, budget = wanted["nlu_threshold"], wanted["llm_monthly_budget"]
        assistant_update(
            assistant=assistant,
            allowed_origins=_listed(wanted, "allowed_origins"),
            hybrid_enabled=_flag(wanted, "hybrid_enabled"),
            hybrid_low=float(wanted["hybrid_low"]),
            hybrid_high=float(wanted["hybrid_high"]),
            nlu_threshold=None if threshold is None else float(threshold),
            nlu_mode=str(wanted["nlu_mode"]),
        )
        assistant_llm_policy_update(
            assistant=assistant,
            model=_llm_model(wanted["llm_model"], result),
            requests_per_minute=_count(wanted, "llm_requests_per_minute"),
            tokens_per_minute=_count(wanted, "llm_tokens_per_minute"),
            monthly_budget=None if budget is None else Decimal(str(budget)),
            injection_judge=_flag(wanted, "llm_injection_judge"),
        )
        assistant.publish_requires_tests = _flag(wanted, "publish_requires_tests")
        assistant.save(update_fields=["publish_requires_tests", "updated_at"])
    except (ValidationError, TypeError, ValueError, ArithmeticError) as error:
        raise _prefixed(_as_validation(error), "settings") from None


def _listed(values: dict[str, Any], key: str) -> list[Any]:
    if not isinstance(values[key], list):
        raise ValidationError({key: "A JSON list."})
    return list(values[key])


def _flag(values: dict[str, Any], key: str) -> bool:
    if not isinstance(values[key], bool):
        raise ValidationError({key: "true or false."})
    return values[key]


def _count(values: dict[str, Any], key: str) -> int | None:
    value = values[key]
    whole = isinstance(value, int) and not isinstance(value, bool)
    if value is not None and not (whole and value <= MAX_COUNT):
        raise ValidationError({key: f"A whole number up to {MAX_COUNT}, or null for none."})
    return value


def _llm_model(key: Any, result: AssistantImport) -> LlmModel | None:
    if not key:
        return None
    model = LlmModel.objects.filter(key=str(key)).first()
    if model is None:
        result.not_carried.append(
            f"settings: the LLM model {key!r} is not in this installation's catalogue; "
            "the copy uses the default model"
        )
    return model


def _entities_import(assistant: Assistant, entities: Any) -> None:
    for index, entity in enumerate(_entries(entities, "entities")):
        try:
            entity_create(
                assistant=assistant,
                name=str(entity.get("name", "")),
                kind=str(entity.get("kind", EntityKind.LIST)),
                values=entity.get("values") or [],
                pattern=str(entity.get("pattern", "")),
                builtin=str(entity.get("builtin", "")),
            )
        except (ValidationError, AttributeError) as error:
            raise _prefixed(_as_validation(error), f"entities[{index}]") from None


def _intents_import(assistant: Assistant, intents: Any) -> None:
    for index, intent in enumerate(_entries(intents, "intents")):
        try:
            intent_create(
                assistant=assistant,
                name=str(intent.get("name", "")),
                description=str(intent.get("description", "")),
                required_entities=intent.get("required_entities") or [],
                utterances=intent.get("utterances") or [],
            )
        except (ValidationError, AttributeError) as error:
            raise _prefixed(_as_validation(error), f"intents[{index}]") from None


def _prompts_import(assistant: Assistant, prompts: Any) -> dict[int, int]:
    """Each prompt with its versions and test cases; returns the new id of each exported one."""
    prompt_ids: dict[int, int] = {}
    for index, prompt in enumerate(_entries(prompts, "prompts")):
        try:
            versions = list(prompt.get("versions") or [])
            if not versions:
                raise ValidationError("A prompt needs at least one version.")
            created = prompt_create(
                assistant=assistant, name=str(prompt.get("name", "")), **_version(versions[0])
            )
            for version in versions[1:]:
                prompt_version_create(prompt=created, **_version(version))
        except (ValidationError, AttributeError) as error:
            raise _prefixed(_as_validation(error), f"prompts[{index}]") from None
        where = f"prompts[{index}].test_cases"
        for number, case in enumerate(_entries(prompt.get("test_cases"), where)):
            try:
                prompt_test_case_create(
                    prompt=created,
                    name=str(case.get("name", "")),
                    values=case.get("values") or {},
                    checks=case.get("checks") or [],
                )
            except (ValidationError, AttributeError, TypeError) as error:
                raise _prefixed(_as_validation(error), f"{where}[{number}]") from None
        if isinstance(prompt.get("id"), int):
            prompt_ids[prompt["id"]] = created.pk
    return prompt_ids


def _flows_import(assistant: Assistant, flows: Any, prompt_ids: dict[int, int]) -> None:
    for index, flow in enumerate(_entries(flows, "flows")):
        try:
            flow_create(
                assistant=assistant,
                name=str(flow.get("name", "")),
                graph=_prompts_renumbered(flow.get("graph"), prompt_ids),
            )
        except (ValidationError, AttributeError) as error:
            raise _prefixed(_as_validation(error), f"flows[{index}]") from None


def _conversation_tests_import(assistant: Assistant, tests: Any) -> None:
    for index, test in enumerate(_entries(tests, "conversation_tests")):
        try:
            conversation_test_create(
                assistant=assistant,
                name=str(test.get("name", "")),
                suite=str(test.get("suite", "")),
                turns=test.get("turns"),
            )
        except (ValidationError, AttributeError) as error:
            raise _prefixed(_as_validation(error), f"conversation_tests[{index}]") from None


def _knowledge_import(
    result: AssistantImport, data: Any, files: Mapping[str, bytes] | None
) -> None:
    """The knowledge base's settings, then each document through the normal upload path."""
    from knowledge.transfer import document_import, knowledge_base_import

    if data is None:
        return
    if not isinstance(data, dict):
        raise ValidationError({"document": ["knowledge_base: not a JSON object."]})
    try:
        kb = knowledge_base_import(assistant=result.assistant, settings=data.get("settings") or {})
    except (ValidationError, TypeError) as error:
        raise _prefixed(_as_validation(error), "knowledge_base.settings") from None
    for index, entry in enumerate(_entries(data.get("documents"), "knowledge_base.documents")):
        try:
            left_out = document_import(kb, entry, files)
        except ValidationError as error:
            raise _prefixed(error, f"knowledge_base.documents[{index}]") from None
        if left_out:
            result.not_carried.append(left_out)


def _as_validation(error: Exception) -> ValidationError:
    if isinstance(error, ValidationError):
        return error
    return ValidationError("This entry is not a JSON object with the expected fields.")


def _version(data: dict[str, Any]) -> dict[str, Any]:
    model_key = data.get("model")
    model = LlmModel.objects.filter(key=model_key).first() if model_key else None
    if model_key and model is None:
        raise ValidationError(f"Unknown LLM model {model_key!r} in this installation.")
    return {
        "system": str(data.get("system", "")),
        "template": str(data.get("template", "")),
        "model": model,
        "temperature": float(data.get("temperature", 0.3)),
        "max_tokens": int(data.get("max_tokens", 400)),
        "notes": str(data.get("notes", "")),
        "output_schema": data.get("output_schema"),
    }


def _prompts_renumbered(graph: Any, prompt_ids: dict[int, int]) -> Any:
    if not isinstance(graph, dict):
        return graph
    graph = copy.deepcopy(graph)
    for step in graph.get("steps") or []:
        generates = isinstance(step, dict) and step.get("type") == "generate"
        if generates and step.get("prompt") in prompt_ids:
            step["prompt"] = prompt_ids[step["prompt"]]
    return graph


# --- NLU data: Rasa YAML and CSV -------------------------------------------------------------

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
