"""Running a creator's prompt version: the arguments for ``complete``, ``stream`` or ``astream``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from core.models import PromptVersion
from gateway.ledger import CallScope
from gateway.prompts import prompt_render


def prompt_call(
    version: PromptVersion,
    values: Mapping[str, object],
    *,
    purpose: str,
    workspace_id: int,
    assistant_id: int,
    history: Sequence[Mapping[str, str]] = (),
) -> dict[str, Any]:
    """The arguments for ``complete``/``stream``/``astream`` that run one prompt version."""
    rendered = prompt_render(version, values, history)
    return {
        "messages": rendered.messages,
        "scope": CallScope(
            purpose,
            workspace_id=workspace_id,
            assistant_id=assistant_id,
            prompt_version_id=version.pk,
            inputs=dict(values),
        ),
        "model": version.model,
        "temperature": version.temperature,
        "max_tokens": version.max_tokens,
        "untrusted": rendered.untrusted,
        "confidential": version.system,  # the creator's instructions, as written
    }
