"""Prompt templates and the checks every prompt passes before it is sent.

Templates use ``{{ name }}`` placeholders. Values are inserted as plain text once: a value that
itself contains ``{{ ... }}`` is never expanded, so user text cannot reach other variables.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.conf import settings

from gateway.errors import PromptInvalid

if TYPE_CHECKING:
    from core.models import PromptVersion

PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_.]*)\s*\}\}")
CHARS_PER_TOKEN = 4  # a deliberately cautious estimate for English text and code


def template_variables(template: str) -> list[str]:
    """The variable names a template uses, in order of first use."""
    return list(dict.fromkeys(PLACEHOLDER.findall(template)))


def template_render(template: str, values: Mapping[str, object]) -> str:
    """The template with every placeholder filled; a missing or empty value is an error."""
    missing = [name for name in template_variables(template) if values.get(name) in (None, "")]
    if missing:
        raise PromptInvalid(f"the prompt needs a value for: {', '.join(missing)}")
    return PLACEHOLDER.sub(lambda match: str(values[match.group(1)]), template)


def tokens_estimate(text: str) -> int:
    return max(1, -(-len(text) // CHARS_PER_TOKEN))


def messages_check(
    messages: Sequence[Mapping[str, str]], *, context_window: int, max_tokens: int
) -> int:
    """Refuse a prompt that is empty, too large, or cannot fit the model with room to answer.

    Returns the estimated input tokens.
    """
    if not messages:
        raise PromptInvalid("the prompt has no messages")
    for index, message in enumerate(messages):
        if message.get("role") not in ("system", "user", "assistant"):
            raise PromptInvalid(f"message {index + 1} has an unknown role {message.get('role')!r}")
        if not isinstance(message.get("content"), str):
            raise PromptInvalid(f"message {index + 1} has no text")
    size = sum(len(message["content"]) for message in messages)
    if size > settings.LLM_MAX_PROMPT_CHARS:
        raise PromptInvalid(
            f"the prompt is {size} characters; the limit is {settings.LLM_MAX_PROMPT_CHARS}"
        )
    estimate = sum(tokens_estimate(message["content"]) + 4 for message in messages)
    if estimate + max_tokens > context_window:
        raise PromptInvalid(
            f"the prompt (about {estimate} tokens) and the answer ({max_tokens} tokens) do not fit"
            f" the model's context window of {context_window} tokens"
        )
    return estimate


@dataclass(frozen=True)
class RenderedPrompt:
    messages: list[dict[str, str]]
    untrusted: list[str]  # the values filled in: what the injection check looks at


def prompt_render(
    version: PromptVersion,
    values: Mapping[str, object],
    history: Sequence[Mapping[str, str]] = (),
) -> RenderedPrompt:
    """The messages for one prompt version: system text, earlier turns, then the template."""
    messages = []
    if version.system.strip():
        messages.append({"role": "system", "content": template_render(version.system, values)})
    messages.extend({"role": turn["role"], "content": turn["content"]} for turn in history)
    messages.append({"role": "user", "content": template_render(version.template, values)})
    untrusted = [str(values[name]) for name in version.variables if values.get(name)]
    return RenderedPrompt(messages, untrusted)
