"""Workflows that write workspaces, memberships, assistants and their prompts.

Each service validates what the database cannot, raises ``ValidationError`` keyed by field name
(pages show it on the field, the API answers 400 with it) and writes inside one transaction, so a
refused request leaves nothing half-saved.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q

from builder.models import (
    DESCRIPTION_MAX_LENGTH,
    NAME_MAX_LENGTH,
    Assistant,
    Language,
    Membership,
    Prompt,
    PromptVersion,
    Role,
    Workspace,
)
from gateway.models import LlmModel
from gateway.prompts import template_variables
from runtime.events import assistant_event_send


def _clean_name(name: str, *, field: str = "name") -> str:
    cleaned = " ".join(name.split())
    if not cleaned:
        raise ValidationError({field: "This field may not be blank."})
    if len(cleaned) > NAME_MAX_LENGTH:
        raise ValidationError(
            {field: f"Ensure this field has no more than {NAME_MAX_LENGTH} characters."}
        )
    return cleaned


@transaction.atomic
def workspace_create(*, name: str, owner: User) -> Workspace:
    """Create a workspace with ``owner`` as its first owner."""
    workspace = Workspace.objects.create(name=_clean_name(name))
    Membership.objects.create(workspace=workspace, user=owner, role=Role.OWNER)
    return workspace


@transaction.atomic
def workspace_rename(*, workspace: Workspace, name: str) -> Workspace:
    """Give the workspace a new display name."""
    workspace.name = _clean_name(name)
    workspace.save(update_fields=["name"])
    return workspace


@transaction.atomic
def member_add(*, workspace: Workspace, username_or_email: str, role: Role) -> Membership:
    """Add an existing account to the workspace, found by username or email address."""
    identifier = username_or_email.strip()
    users = get_user_model().objects.filter(
        Q(username__iexact=identifier) | Q(email__iexact=identifier)
    )
    user = users.first() if identifier else None
    if user is None:
        raise ValidationError({"user": f"No account with the username or email {identifier!r}."})
    if workspace.memberships.filter(user=user).exists():
        raise ValidationError({"user": f"{user.get_username()} is already a member."})
    return Membership.objects.create(workspace=workspace, user=user, role=Role(role))


def _ensure_an_owner_remains(membership: Membership) -> None:
    others = membership.workspace.memberships.exclude(pk=membership.pk)
    if membership.role == Role.OWNER and not others.filter(role=Role.OWNER).exists():
        raise ValidationError({"role": "A workspace needs at least one owner."})


@transaction.atomic
def member_change_role(*, membership: Membership, role: Role) -> Membership:
    """Change a member's role, keeping at least one owner in the workspace."""
    if role != Role.OWNER:
        _ensure_an_owner_remains(membership)
    membership.role = Role(role)
    membership.save(update_fields=["role"])
    return membership


@transaction.atomic
def member_remove(*, membership: Membership) -> None:
    """Remove a member, keeping at least one owner in the workspace."""
    _ensure_an_owner_remains(membership)
    membership.delete()


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
    *, workspace: Workspace, name: str, description: str = "", language: str = Language.ENGLISH
) -> Assistant:
    """Create an assistant in ``workspace``; names are unique per workspace, ignoring case."""
    name = _clean_name(name)
    _ensure_unique_assistant_name(workspace, name)
    assistant = Assistant(
        workspace=workspace,
        name=name,
        description=_clean_description(description),
        language=_clean_language(language),
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
) -> Assistant:
    """Rename an assistant or change its description or language; omitted fields stay."""
    if name is not None:
        assistant.name = _clean_name(name)
        _ensure_unique_assistant_name(assistant.workspace, assistant.name, exclude=assistant)
    if description is not None:
        assistant.description = _clean_description(description)
    if language is not None:
        assistant.language = _clean_language(language)
    assistant.save(update_fields=["name", "description", "language", "updated_at"])
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


MAX_TEMPERATURE = 2.0


@transaction.atomic
def prompt_create(*, assistant: Assistant, name: str, template: str, **version: Any) -> Prompt:
    """Create a prompt with its first version (see ``prompt_version_create`` for the fields)."""
    name = _clean_name(name)
    if assistant.prompts.filter(name__iexact=name).exists():
        raise ValidationError({"name": f"This assistant already has a prompt named {name!r}."})
    prompt = Prompt.objects.create(assistant=assistant, name=name)
    prompt_version_create(prompt=prompt, template=template, **version)
    return prompt


@transaction.atomic
def prompt_version_create(
    *,
    prompt: Prompt,
    template: str,
    system: str = "",
    model: LlmModel | None = None,
    temperature: float = 0.3,
    max_tokens: int = 400,
    notes: str = "",
) -> PromptVersion:
    """Freeze a new wording of the prompt as its next version; earlier versions never change.

    The variables are the ``{{ name }}`` placeholders of the system text and the template.
    """
    if not template.strip():
        raise ValidationError({"template": "A prompt needs a template."})
    if not 0 <= temperature <= MAX_TEMPERATURE:
        raise ValidationError({"temperature": f"Use a value from 0 to {MAX_TEMPERATURE}."})
    if max_tokens < 1:
        raise ValidationError({"max_tokens": "An answer needs at least 1 token."})
    if model is not None and max_tokens >= model.context_window:
        raise ValidationError(
            {"max_tokens": f"Leave room for the prompt in {model}'s {model.context_window} tokens."}
        )
    # Lock the prompt's row so two editors saving at once get consecutive numbers.
    Prompt.objects.select_for_update().filter(pk=prompt.pk).first()
    last = prompt.versions.order_by("-number").values_list("number", flat=True).first() or 0
    return PromptVersion.objects.create(
        prompt=prompt,
        number=last + 1,
        system=system,
        template=template,
        variables=template_variables(f"{system}\n{template}"),
        model=model,
        temperature=temperature,
        max_tokens=max_tokens,
        notes=notes.strip()[:500],
    )
