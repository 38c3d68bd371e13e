"""How long after a creator edits one intent the test panel answers with the retrained model.

End to end, as in the product: the edit goes through the service, its training is queued and run
by the task consumer, and the time stops when the draft model served to the test panel knows the
new utterances.
"""

from __future__ import annotations

import time
import uuid
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np
from django.db import transaction

from builder import services
from core.models import Assistant, TrainingStatus, Workspace
from nlu.data import read_jsonl
from nlu.progress import Progress
from nlu.store import registry


def retrain_run(
    *, data: Path, intents: int, edits: int, progress: Progress, timeout_s: float = 120
) -> dict[str, Any]:
    by_intent: dict[str, list[str]] = defaultdict(list)
    for example in read_jsonl(data):
        if example.in_scope:
            by_intent[example.intent].append(example.text)
    chosen = sorted(by_intent)[:intents]
    if len(chosen) < intents:
        raise ValueError(f"{data} has only {len(chosen)} intents")
    workspace = Workspace.objects.create(name=f"Retrain benchmark {uuid.uuid4().hex[:8]}")
    try:
        assistant = Assistant.objects.create(workspace=workspace, name="Benchmark")
        started = time.perf_counter()
        with transaction.atomic():
            for name in chosen:
                # The last utterances of each intent are held back for the edits.
                services.intent_create(
                    assistant=assistant, name=name, utterances=by_intent[name][:-edits]
                )
        _wait_trained(assistant, timeout_s)
        first_s = time.perf_counter() - started
        progress("edits", 0.0)
        seconds = []
        for number in range(edits):
            intent = assistant.intents.get(name=chosen[number % len(chosen)])
            text = by_intent[intent.name][-1 - number // len(chosen)]
            started = time.perf_counter()
            services.utterances_add(intent=intent, utterances=[text])
            _wait_until_served(assistant, text, timeout_s)
            seconds.append(time.perf_counter() - started)
            progress("edits", (number + 1) / edits)
        kinds = list(
            assistant.training_runs.filter(status=TrainingStatus.DONE).values_list(
                "metrics__training", flat=True
            )[:edits]
        )
    finally:
        workspace.delete()
    return {
        "intents": intents,
        "utterances": sum(len(by_intent[name]) - edits for name in chosen),
        "first_training_s": round(first_s, 2),
        "edit_to_test_panel_s": {
            "p50": round(float(np.percentile(seconds, 50)), 2),
            "max": round(max(seconds), 2),
        },
        "edits": edits,
        "training_kinds": sorted(set(kinds)),
    }


def _wait_trained(assistant: Assistant, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        run = assistant.training_runs.first()
        if run is not None and run.status == TrainingStatus.DONE:
            return
        if run is not None and run.status == TrainingStatus.FAILED:
            raise RuntimeError(f"training failed: {run.error}")
        time.sleep(0.05)
    raise TimeoutError("the first training did not finish in time")


def _wait_until_served(assistant: Assistant, text: str, timeout_s: float) -> None:
    """Until the test panel's model (the draft channel) was trained on ``text``."""
    from nlu.encoder import text_key

    key = text_key(" ".join(text.split()))
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        model = registry().published_model(assistant.pk, "draft")
        if key in model.training_vectors:
            return
        time.sleep(0.02)
    raise TimeoutError("the edit did not reach the test panel in time")
