"""How long jobs (training, evaluation, benchmarks) report progress: a stage name and a fraction.

Plain Python, so the web app can import it without loading the models.
"""

from __future__ import annotations

from collections.abc import Callable

Progress = Callable[[str, float], None]


def no_progress(stage: str, fraction: float) -> None:
    """A ``Progress`` that reports nowhere."""


def progress_span(progress: Progress, start: float, end: float, prefix: str = "") -> Progress:
    """``progress`` for a step that fills the bar from ``start`` to ``end``, its stage names
    led by ``prefix``."""
    return lambda stage, fraction: progress(prefix + stage, start + (end - start) * fraction)
