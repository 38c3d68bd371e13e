"""How a model component lies on disk: settings as JSON, arrays as safetensors; no pickle."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
from safetensors.numpy import load_file, save_file


def component_write(
    directory: Path, name: str, state: dict[str, Any], arrays: dict[str, np.ndarray]
) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    save_file(arrays, str(directory / "weights.safetensors"))
    (directory / f"{name}.json").write_text(json.dumps(state))


def component_read(directory: Path, name: str) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    state = json.loads((directory / f"{name}.json").read_text())
    return state, load_file(str(directory / "weights.safetensors"))
