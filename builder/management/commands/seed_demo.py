from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from builder.demo import demo_publish, demo_seed
from core.demo import DEMO_PASSWORD, DEMO_USERNAME


class Command(BaseCommand):
    help = "Create (or restore) the demo user, workspace and assistant. Safe to run repeatedly."

    def handle(self, *args: Any, **options: Any) -> None:
        demo = demo_seed()
        if demo_publish(demo.assistant):
            self.stdout.write("Trained and published the demo assistant.")
        verb = "Created" if demo.created else "Found"
        self.stdout.write(
            f"{verb} demo assistant “{demo.assistant.name}” in workspace “{demo.workspace.name}”.\n"
            f"Log in with username {DEMO_USERNAME!r} and password {DEMO_PASSWORD!r}; "
            "chat with it at /demo/."
        )
