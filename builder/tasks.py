"""Background jobs of the builder (Huey)."""

from __future__ import annotations

from huey.contrib.djhuey import db_task

from builder.services.evaluations import evaluation_run_execute
from builder.services.training import training_run_execute


@db_task()
def nlu_train(run_id: int) -> None:
    """Train an assistant's draft NLU model (see ``training_run_execute``)."""
    training_run_execute(run_id)


@db_task()
def nlu_evaluate(run_id: int) -> None:
    """Evaluate an assistant's NLU (see ``evaluation_run_execute``)."""
    evaluation_run_execute(run_id)
