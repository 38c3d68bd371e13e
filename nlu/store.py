"""Where the NLU's files live, and the process-wide encoder.

The encoder is exported from its PyPI package to ONNX on first use (about twenty seconds) and
kept in ``NLU_DIR/encoder``; ``bin/serve`` and ``bin/test`` do it up front with
``manage.py nlu_export``.
"""

from __future__ import annotations

import fcntl
import json
import threading
from functools import cache
from pathlib import Path

from django.conf import settings

from nlu.encoder import Encoder
from nlu.registry import ModelRegistry

_export_lock = threading.Lock()


def encoder_directory() -> Path:
    return Path(settings.NLU_DIR) / "encoder"


def _exported(directory: Path) -> bool:
    """A complete export of the current layout (older ones lack the single-utterance graph)."""
    manifest = directory / "manifest.json"
    return manifest.exists() and "single" in json.loads(manifest.read_text())


def encoder_ensure() -> Path:
    """Export the encoder unless a complete export is already there; safe across processes."""
    directory = encoder_directory()
    if _exported(directory):
        return directory
    directory.parent.mkdir(parents=True, exist_ok=True)
    with _export_lock, (directory.parent / ".export.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not _exported(directory):
            from nlu.export import encoder_export

            encoder_export(directory)
    return directory


@cache
def encoder_load(variant: str | None = None, threads: int = 1) -> Encoder:
    """The shared encoder of this process (one ONNX session per variant and thread count)."""
    return Encoder(
        encoder_ensure(), variant=variant or settings.NLU_ENCODER_VARIANT, threads=threads
    )


def registry() -> ModelRegistry:
    """The process's model registry: every assistant's trained versions (``NLU_MODELS_DIR``)."""
    return _registry(str(settings.NLU_MODELS_DIR))


@cache
def _registry(root: str) -> ModelRegistry:
    return ModelRegistry(Path(root), encoder_load())
