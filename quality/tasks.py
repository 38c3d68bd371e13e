"""Background jobs of evaluations and test runs (Huey)."""

from __future__ import annotations

from huey.contrib.djhuey import db_task

from quality.services.conversation_tests import conversation_test_run_execute
from quality.services.evaluations import evaluation_run_execute
from quality.services.prompt_tests import prompt_test_run_execute


@db_task()
def nlu_evaluate(run_id: int) -> None:
    """Evaluate an assistant's NLU (see ``evaluation_run_execute``)."""
    evaluation_run_execute(run_id)


@db_task()
def prompt_tests(run_id: int) -> None:
    """Run a prompt version's test cases (see ``prompt_test_run_execute``)."""
    prompt_test_run_execute(run_id)


@db_task()
def conversation_tests(run_id: int) -> None:
    """Play an assistant's conversation tests (see ``conversation_test_run_execute``)."""
    conversation_test_run_execute(run_id)
