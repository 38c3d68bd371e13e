"""Who and what the demo is: the account, workspace and assistant that the first README command
lands on (``builder.demo`` seeds them; the public demo page shows the assistant's widget)."""

from __future__ import annotations

from core.models import Assistant

DEMO_USERNAME = "demo"
DEMO_PASSWORD = "parley-demo"  # noqa: S105 -- printed on purpose: it is the demo login
DEMO_WORKSPACE = "Demo workspace"
DEMO_ASSISTANT = "Pizza Palace"


def demo_assistant() -> Assistant | None:
    """The demo assistant, if it was seeded."""
    return Assistant.objects.filter(
        name=DEMO_ASSISTANT,
        workspace__name=DEMO_WORKSPACE,
        workspace__memberships__user__username=DEMO_USERNAME,
    ).first()
