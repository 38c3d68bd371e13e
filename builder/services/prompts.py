"""Prompts and their immutable versions."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from builder.services.workspaces import clean_name
from core.models import Assistant, Prompt, PromptVersion
from gateway.models import LlmModel
from gateway.prompts import template_variables
from gateway.structured import schema_check
from quality.services.prompt_tests import prompt_tests_on_new_version

MAX_TEMPERATURE = 2.0


@transaction.atomic
def prompt_create(*, assistant: Assistant, name: str, template: str, **version: Any) -> Prompt:
    """Create a prompt with its first version (see ``prompt_version_create`` for the fields)."""
    name = clean_name(name)
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
    output_schema: dict[str, Any] | None = None,
) -> PromptVersion:
    """Freeze a new wording of the prompt as its next version; earlier versions never change.

    The variables are the ``{{ name }}`` placeholders of the system text and the template. An
    ``output_schema`` (a JSON schema of an object) makes the reply structured: the gateway
    validates and repairs it, and a flow's generate step keeps the object.
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
    if output_schema is not None:
        try:
            schema_check(output_schema)
        except ValueError as error:
            raise ValidationError({"output_schema": str(error)}) from None
    # Lock the prompt's row so two editors saving at once get consecutive numbers.
    Prompt.objects.select_for_update().filter(pk=prompt.pk).first()
    last = prompt.versions.order_by("-number").values_list("number", flat=True).first() or 0
    version = PromptVersion.objects.create(
        prompt=prompt,
        number=last + 1,
        system=system,
        template=template,
        variables=template_variables(f"{system}\n{template}"),
        model=model,
        temperature=temperature,
        max_tokens=max_tokens,
        notes=notes.strip()[:500],
        output_schema=output_schema,
    )
    if prompt.test_cases.exists():  # what the new wording fixes and breaks, at once
        prompt_tests_on_new_version(version)
    return version
