"""Trained models per assistant: versions on disk, the published one served, swapped live.

Layout under ``NLU_DIR/assistants/<assistant id>/``::

    versions/<version>/   one trained model directory each (never modified once written)
    published             the version the runtime serves (replaced atomically)

Every process asks ``published_model(assistant_id)``; it re-reads the small ``published`` file at
most every ``CHECK_INTERVAL_S`` and, when the version changed, loads the new model before swapping
the reference. Requests already holding the old model finish with it: nothing is dropped, and a
publish in one worker reaches all the others within the interval.
"""

from __future__ import annotations

import gc
import os
import re
import shutil
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from nlu.encoder import Encoder
from nlu.model import NluModel

CHECK_INTERVAL_S = 1.0
VERSION = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


class NotPublished(LookupError):
    """The assistant has no published model yet."""


@dataclass
class _Served:
    version: str
    model: NluModel
    checked_at: float


class ModelRegistry:
    def __init__(self, root: Path, encoder: Encoder) -> None:
        self.root = Path(root)
        self.encoder = encoder
        self._served: dict[tuple[int, str], _Served] = {}
        self._lock = threading.Lock()

    def _assistant_dir(self, assistant_id: int) -> Path:
        return self.root / "assistants" / str(int(assistant_id))

    def version_dir(self, assistant_id: int, version: str) -> Path:
        if not VERSION.match(version):
            raise ValueError(f"invalid model version {version!r}")
        return self._assistant_dir(assistant_id) / "versions" / version

    def save(self, assistant_id: int, version: str, model: NluModel) -> Path:
        """Write a trained model as a new version (complete before it becomes visible)."""
        target = self.version_dir(assistant_id, version)
        if target.exists():
            raise FileExistsError(f"model version {version!r} already exists")
        partial = target.with_name(f".{version}.partial")
        shutil.rmtree(partial, ignore_errors=True)
        model.save(partial)
        partial.rename(target)
        return target

    def versions(self, assistant_id: int) -> list[str]:
        folder = self._assistant_dir(assistant_id) / "versions"
        if not folder.exists():
            return []
        return sorted(p.name for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))

    def publish(self, assistant_id: int, version: str, channel: str = "published") -> None:
        """Serve ``version`` in every process; rolling back is publishing an older one.

        ``channel`` names the pointer: the runtime serves "published", the builder's test panel
        "draft".
        """
        if not (self.version_dir(assistant_id, version) / "manifest.json").exists():
            raise LookupError(f"assistant {assistant_id} has no model version {version!r}")
        pointer = self._assistant_dir(assistant_id) / _channel(channel)
        temporary = pointer.with_name(f".published.{os.getpid()}.{threading.get_ident()}")
        temporary.write_text(version)
        temporary.replace(pointer)
        with self._lock:
            served = self._served.get((assistant_id, channel))
            if served is not None:
                served.checked_at = 0.0  # this process looks again on the next request

    def published_version(self, assistant_id: int, channel: str = "published") -> str | None:
        pointer = self._assistant_dir(assistant_id) / _channel(channel)
        try:
            return pointer.read_text().strip() or None
        except FileNotFoundError:
            return None

    def published_model(self, assistant_id: int, channel: str = "published") -> NluModel:
        """The model to answer with now; loads and swaps in a newly published version."""
        now = time.monotonic()
        served = self._served.get((assistant_id, channel))
        if served is not None and now - served.checked_at < CHECK_INTERVAL_S:
            return served.model
        version = self.published_version(assistant_id, channel)
        if version is None:
            raise NotPublished(f"assistant {assistant_id} has no {channel} model")
        if served is not None and served.version == version:
            served.checked_at = now
            return served.model
        # Load outside the lock: other requests keep being answered by the current model.
        model = NluModel.load(self.version_dir(assistant_id, version), encoder=self.encoder)
        # Served until the next publish: out of the cyclic collector's full passes, whose pause
        # grows with every tracked object (config/collector.py says why that matters).
        gc.freeze()
        with self._lock:
            self._served[(assistant_id, channel)] = _Served(version, model, now)
        return model

    def model(self, assistant_id: int, version: str) -> NluModel:
        """One stored version, loaded (to retrain from it, or to look at it)."""
        return NluModel.load(self.version_dir(assistant_id, version), encoder=self.encoder)


def _channel(name: str) -> str:
    if name not in ("published", "draft"):
        raise ValueError(f"unknown model channel {name!r}")
    return name
