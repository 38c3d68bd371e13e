"""What background jobs (training, evaluation, reading documents) share: reporting progress."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

PROGRESS_EVERY_S = 0.25  # at most this often a progress message per job

Progress = Callable[[str, float], None]


def throttled(report: Progress) -> Progress:
    """``report``, called at most every ``PROGRESS_EVERY_S``; the first call and the last step
    (100 %) always get through."""
    last_sent = 0.0

    def progress(stage: str, fraction: float) -> None:
        nonlocal last_sent
        if time.monotonic() - last_sent < PROGRESS_EVERY_S and fraction < 1:
            return
        last_sent = time.monotonic()
        report(stage, fraction)

    return progress


def progress_reporter(run: Any, announce: Callable[[Any], None]) -> Progress:
    """Saves a job run's stage and progress and announces it (throttled)."""

    def report(stage: str, fraction: float) -> None:
        run.stage, run.progress = stage[:32], fraction
        run.save(update_fields=["stage", "progress"])
        announce(run)

    return throttled(report)
