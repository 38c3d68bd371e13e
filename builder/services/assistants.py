"""Assistants: create, change, delete, and what they may spend on LLMs."""

from __future__ import annotations

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction

from builder.services.training import training_request
from builder.services.workspaces import clean_name
from core.events import assistant_event_send
from core.models import DESCRIPTION_MAX_LENGTH, Assistant, Language, NluMode, Workspace
from gateway.models import LlmModel
from runtime.listings import ANY_SITE, origin_parts, origin_text


class Unset:
    """A keyword left out, where None is a value (``nlu_threshold=None``: the calibrated one)."""


UNSET = Unset()


def _ensure_unique_assistant_name(
    workspace: Workspace, name: str, *, exclude: Assistant | None = None
) -> None:
    clashes = workspace.assistants.filter(name__iexact=name)
    if exclude is not None:
        clashes = clashes.exclude(pk=exclude.pk)
    if clashes.exists():
        raise ValidationError({"name": f"This workspace already has an assistant named {name!r}."})


def _clean_description(description: str) -> str:
    cleaned = description.strip()
    if len(cleaned) > DESCRIPTION_MAX_LENGTH:
        message = f"Ensure this field has no more than {DESCRIPTION_MAX_LENGTH} characters."
        raise ValidationError({"description": message})
    return cleaned


def _clean_language(language: str) -> str:
    if language not in Language.values:
        raise ValidationError({"language": f"{language!r} is not a supported language."})
    return language


@transaction.atomic
def assistant_create(
    *,
    workspace: Workspace,
    name: str,
    description: str = "",
    language: str = Language.ENGLISH,
    allowed_origins: list[str] | None = None,
) -> Assistant:
    """Create an assistant in ``workspace``; names are unique per workspace, ignoring case."""
    name = clean_name(name)
    _ensure_unique_assistant_name(workspace, name)
    assistant = Assistant(
        workspace=workspace,
        name=name,
        description=_clean_description(description),
        language=_clean_language(language),
        allowed_origins=_clean_origins(allowed_origins or []),
    )
    assistant.save()
    return assistant


@transaction.atomic
def assistant_update(
    *,
    assistant: Assistant,
    name: str | None = None,
    description: str | None = None,
    language: str | None = None,
    allowed_origins: list[str] | None = None,
    hybrid_enabled: bool | None = None,
    hybrid_low: float | None = None,
    hybrid_high: float | None = None,
    nlu_threshold: float | Unset | None = UNSET,
    nlu_mode: str | None = None,
) -> Assistant:
    """Rename an assistant or change its description, language, the sites that may embed its
    web chat, its hybrid understanding or how its NLU trains; omitted fields stay.

    A new training mode retrains the draft model in that mode."""
    if name is not None:
        assistant.name = clean_name(name)
        _ensure_unique_assistant_name(assistant.workspace, assistant.name, exclude=assistant)
    if description is not None:
        assistant.description = _clean_description(description)
    if language is not None:
        assistant.language = _clean_language(language)
    if allowed_origins is not None:
        assistant.allowed_origins = _clean_origins(allowed_origins)
    if hybrid_enabled is not None:
        assistant.hybrid_enabled = hybrid_enabled
    low = assistant.hybrid_low if hybrid_low is None else hybrid_low
    high = assistant.hybrid_high if hybrid_high is None else hybrid_high
    if not 0 <= low < high <= 1:
        raise ValidationError(
            {"hybrid_low": "The uncertain band needs 0 ≤ low < high ≤ 1 (confidences)."}
        )
    assistant.hybrid_low, assistant.hybrid_high = low, high
    if not isinstance(nlu_threshold, Unset):
        if nlu_threshold is not None and not 0 <= nlu_threshold <= 1:
            raise ValidationError({"nlu_threshold": "A confidence threshold is between 0 and 1."})
        assistant.nlu_threshold = nlu_threshold
    retrain = nlu_mode is not None and nlu_mode != assistant.nlu_mode
    if nlu_mode is not None:
        if nlu_mode not in NluMode.values:
            raise ValidationError({"nlu_mode": f"The training mode is one of {NluMode.values}."})
        assistant.nlu_mode = nlu_mode
    assistant.save(
        update_fields=[
            "name",
            "description",
            "language",
            "allowed_origins",
            "hybrid_enabled",
            "hybrid_low",
            "hybrid_high",
            "nlu_threshold",
            "nlu_mode",
            "updated_at",
        ]
    )
    if retrain and assistant.intents.exists():
        training_request(assistant=assistant)
    assistant_event_send(
        assistant_id=assistant.pk,
        event="assistant.updated",
        data={
            "name": assistant.name,
            "description": assistant.description,
            "language": assistant.language,
            "language_label": assistant.get_language_display(),
        },
    )
    return assistant


def _clean_origins(origins: list[str]) -> list[str]:
    """The sites that may embed the web chat, each written as its origin (``origin_text``:
    lowercase, the port only when it is not the scheme's default), or ``*``; repeats dropped.

    A site is matched on its full origin, so ``https://shop.example:443`` is kept as
    ``https://shop.example`` and ``https://shop.example:8443`` stays apart from it. A bare host
    name is refused: it would not say which scheme and port are meant."""
    cleaned = []
    for origin in origins:
        origin = origin.strip()
        if not origin:
            continue
        if origin == ANY_SITE:
            cleaned.append(origin)
            continue
        parts = origin_parts(origin)
        if parts is None:
            raise ValidationError(
                {"allowed_origins": f"{origin!r} is not a site: write https://host[:port] or *."}
            )
        cleaned.append(origin_text(parts))
    return list(dict.fromkeys(cleaned))


@transaction.atomic
def assistant_delete(*, assistant: Assistant) -> None:
    """Delete an assistant and everything it owns, and tell anyone watching it."""
    assistant_id = assistant.pk
    assistant.delete()
    assistant_event_send(assistant_id=assistant_id, event="assistant.deleted", data={})


@transaction.atomic
def assistant_llm_policy_update(
    *,
    assistant: Assistant,
    model: LlmModel | None,
    requests_per_minute: int | None,
    tokens_per_minute: int | None,
    monthly_budget: Decimal | None,
    injection_judge: bool,
) -> Assistant:
    """Set the assistant's LLM model, rate limits, monthly budget and injection judge.

    None for a limit or the budget means none; None for the model means the instance default.
    """
    for field, value in (
        ("llm_requests_per_minute", requests_per_minute),
        ("llm_tokens_per_minute", tokens_per_minute),
    ):
        if value is not None and value < 1:
            raise ValidationError({field: "A limit must be at least 1 (leave it empty for none)."})
    if monthly_budget is not None and monthly_budget < 0:
        raise ValidationError({"llm_monthly_budget": "A budget cannot be negative."})
    assistant.llm_model = model
    assistant.llm_requests_per_minute = requests_per_minute
    assistant.llm_tokens_per_minute = tokens_per_minute
    assistant.llm_monthly_budget = monthly_budget
    assistant.llm_injection_judge = injection_judge
    assistant.save(
        update_fields=[
            "llm_model",
            "llm_requests_per_minute",
            "llm_tokens_per_minute",
            "llm_monthly_budget",
            "llm_injection_judge",
            "updated_at",
        ]
    )
    return assistant
