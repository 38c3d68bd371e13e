"""The whole assistant in and out: one JSON document, or a zip archive of that JSON and its
knowledge base's files when it has any.

An import runs in one transaction: a document with errors is refused whole, each error naming
where it is, and nothing is half-saved. It reports what it could not carry, and why.
"""

from __future__ import annotations

import copy
import io
import itertools
import json
import zipfile
import zlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import IO, Any

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
from builder.services.nlu import entity_create, intent_create
from builder.services.nlu_transfer import MAX_IMPORT_BYTES
from builder.services.prompts import prompt_create, prompt_version_create
from builder.services.versions import EXPORT_FORMAT, assistant_export, assistant_settings
from core.models import Assistant, EntityKind, Workspace
from gateway.models import LlmModel
from knowledge.transfer import document_import, knowledge_base_import, knowledge_files
from quality.services.conversation_tests import conversation_test_create
from quality.services.prompt_tests import prompt_test_case_create


def _prefixed(error: ValidationError, where: str) -> ValidationError:
    messages = (
        [f"{where}, {key}: {m}" for key, ms in error.message_dict.items() for m in ms]
        if hasattr(error, "error_dict")
        else [f"{where}: {m}" for m in error.messages]
    )
    return ValidationError({"document": messages})


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
