"""Background jobs of the builder (Huey)."""

from __future__ import annotations

from huey.contrib.djhuey import db_task

from builder.services.training import training_run_execute


@db_task()
def nlu_train(run_id: int) -> None:
    """Train an assistant's draft NLU model (see ``training_run_execute``)."""
    training_run_execute(run_id)
