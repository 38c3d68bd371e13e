"""Export, publish and roll back: the draft becomes an immutable version the runtime serves."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from core.models import Assistant, AssistantVersion, TrainingRun, TrainingStatus
from core.nlu_data import nlu_data_hash
from knowledge.transfer import knowledge_export
from nlu.store import registry
from quality.models import ConversationTestRun, SuiteRunStatus
from quality.services.conversation_tests import conversation_tests_now

# 2: the settings, prompt test cases and knowledge base came in (1 had none of them; still read).
EXPORT_FORMAT = 2


def assistant_export(assistant: Assistant) -> dict[str, Any]:
    """The whole assistant as one JSON document (what a version freezes, and what import reads):
    everything a creator made, the knowledge base's documents named but their files left to the
    export archive (``builder.services.assistant_transfer.assistant_export_file``)."""
    return {
        "format": EXPORT_FORMAT,
        "assistant": {
            "name": assistant.name,
            "description": assistant.description,
            "language": assistant.language,
        },
        "settings": assistant_settings(assistant),
        "entities": [
            {
                "name": entity.name,
                "kind": entity.kind,
                "values": entity.values,
                "pattern": entity.pattern,
                "builtin": entity.builtin,
            }
            for entity in assistant.entities.order_by("name")
        ],
        "intents": [
            {
                "name": intent.name,
                "description": intent.description,
                "required_entities": intent.required_entities,
                "utterances": [
                    {"text": utterance.text, "entities": utterance.entities}
                    for utterance in intent.utterances.order_by("id")
                ],
            }
            for intent in assistant.intents.order_by("name").prefetch_related("utterances")
        ],
        # Generate steps name a prompt by id; "id" here lets an import map them to new ones.
        "prompts": [
            {
                "id": prompt.pk,
                "name": prompt.name,
                "versions": [
                    {
                        "system": version.system,
                        "template": version.template,
                        "output_schema": version.output_schema,
                        "model": version.model.key if version.model else None,
                        "temperature": version.temperature,
                        "max_tokens": version.max_tokens,
                        "notes": version.notes,
                    }
                    for version in prompt.versions.order_by("number")
                ],
                "test_cases": [
                    {"name": case.name, "values": case.values, "checks": case.checks}
                    for case in prompt.test_cases.order_by("id")
                ],
            }
            for prompt in assistant.prompts.order_by("id")
        ],
        "flows": [
            {"name": flow.name, "graph": flow.graph} for flow in assistant.flows.order_by("id")
        ],
        "conversation_tests": [
            {"name": test.name, "suite": test.suite, "turns": test.turns}
            for test in assistant.conversation_tests.order_by("id")
        ],
        "knowledge_base": knowledge_export(assistant),
    }


def assistant_settings(assistant: Assistant) -> dict[str, Any]:
    """How the assistant understands, spends on LLMs, publishes, and which sites embed it."""
    budget = assistant.llm_monthly_budget
    return {
        "allowed_origins": assistant.allowed_origins,
        "nlu_mode": assistant.nlu_mode,
        "nlu_threshold": assistant.nlu_threshold,
        "hybrid_enabled": assistant.hybrid_enabled,
        "hybrid_low": assistant.hybrid_low,
        "hybrid_high": assistant.hybrid_high,
        "llm_model": assistant.llm_model.key if assistant.llm_model else None,
        "llm_requests_per_minute": assistant.llm_requests_per_minute,
        "llm_tokens_per_minute": assistant.llm_tokens_per_minute,
        "llm_monthly_budget": None if budget is None else str(budget),
        "llm_injection_judge": assistant.llm_injection_judge,
        "publish_requires_tests": assistant.publish_requires_tests,
    }


class SuiteFailed(ValidationError):
    """Publishing stopped: the assistant requires its conversation tests to pass, and they did
    not; ``run`` is the run that says which failed."""

    def __init__(self, run: ConversationTestRun) -> None:
        self.run = run
        report = run.report or {}
        if run.status != SuiteRunStatus.DONE:
            message = f"The conversation tests could not run: {run.error}"
        else:
            names = ", ".join(t["name"] for t in report["tests"] if not t["passed"])
            message = f"{report['failed']} of {report['total']} conversation tests failed: {names}."
        super().__init__({"tests": message})


def assistant_publish(*, assistant: Assistant, notes: str = "") -> AssistantVersion:
    """Freeze the draft as the next version and serve it, NLU model included.

    Refused while the NLU has not been trained on exactly the current draft, and, when the
    assistant requires it, until its conversation tests pass on the draft (``SuiteFailed``).
    """
    _publishable(assistant)
    if assistant.publish_requires_tests:
        if not assistant.conversation_tests.exists():
            raise ValidationError(
                {"tests": "Publishing requires passing conversation tests, and there are none."}
            )
        run = conversation_tests_now(assistant=assistant)
        if not run.passed:
            raise SuiteFailed(run)
    return _publish(assistant, notes)


def _publishable(assistant: Assistant) -> TrainingRun:
    """The training run a new version would serve; a ValidationError says why there is none."""
    if not assistant.flows.exists():
        raise ValidationError({"flows": "Add a flow before publishing."})
    run = assistant.training_runs.first()
    if run is None or run.status in (TrainingStatus.QUEUED, TrainingStatus.RUNNING):
        raise ValidationError({"nlu": "The NLU is still training on the latest changes."})
    if run.status == TrainingStatus.FAILED:
        raise ValidationError({"nlu": f"The last NLU training failed: {run.error}"})
    if run.data_hash != nlu_data_hash(assistant):
        raise ValidationError({"nlu": "The NLU has not been trained on the latest changes yet."})
    return run


@transaction.atomic
def _publish(assistant: Assistant, notes: str) -> AssistantVersion:
    run = _publishable(assistant)  # again, inside the transaction: the draft may have moved on
    Assistant.objects.select_for_update().filter(pk=assistant.pk).first()
    last = assistant.versions.order_by("-number").values_list("number", flat=True).first() or 0
    version = AssistantVersion.objects.create(
        assistant=assistant,
        number=last + 1,
        notes=notes.strip()[:500],
        snapshot=assistant_export(assistant),
        nlu_version=run.model_version,
    )
    _serve(assistant, version)
    return version


@transaction.atomic
def assistant_rollback(*, assistant: Assistant, version: AssistantVersion) -> AssistantVersion:
    """Serve an earlier version again (its flows and its NLU model)."""
    if version.assistant_id != assistant.pk:
        raise ValidationError({"version": "That version belongs to another assistant."})
    _serve(assistant, version)
    return version


def _serve(assistant: Assistant, version: AssistantVersion) -> None:
    assistant.published_version = version
    assistant.save(update_fields=["published_version", "updated_at"])
    nlu_version, assistant_id = version.nlu_version, assistant.pk
    # The pointer file flips only once the database agrees.
    transaction.on_commit(lambda: registry().publish(assistant_id, nlu_version))
