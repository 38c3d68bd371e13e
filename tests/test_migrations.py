"""A database made before the models moved out of ``builder`` upgrades with ``migrate`` and keeps
every row: the moving migrations change Django's state only."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from core.models import Assistant, ConversationTest, Intent, PromptTestCase, TrainingRun
from gateway.models import Call
from knowledge.models import KnowledgeBase
from quality.models import ConversationTestRun, EvaluationRun, PromptTestRun
from runtime.models import Conversation

BEFORE_THE_MOVE = [
    ("builder", "0017_evaluation_nlu_mode"),
    ("runtime", "0007_message_conversation_index_in_unique"),
    ("knowledge", "0001_initial"),
    ("gateway", "0001_initial"),
    ("contenttypes", "0002_remove_content_type_name"),
    ("core", None),
    ("quality", None),
]


def _migrate(targets: list[tuple[str, str | None]]) -> Any:
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    executor.loader.build_graph()
    return executor.loader.project_state(
        [(app, name) for app, name in targets if name is not None]
    ).apps


def _latest() -> list[tuple[str, str | None]]:
    executor = MigrationExecutor(connection)
    return list(executor.loader.graph.leaf_nodes())


def _old_rows(apps: Any) -> dict[str, Any]:
    """One row of each moved model (and of the models in other apps that point at them), written
    through the models as the old migrations define them."""
    content_types = apps.get_model("contenttypes", "ContentType").objects
    content_types.filter(app_label__in=["core", "quality"]).delete()  # not there before the move
    assistant_type = content_types.create(app_label="builder", model="assistant")
    evaluation_type = content_types.create(app_label="builder", model="evaluationrun")
    user = apps.get_model("auth", "User").objects.create(username="before-the-move")
    old = {name: apps.get_model("builder", name) for name in (
        "Workspace", "Membership", "Assistant", "Intent", "Utterance", "Entity", "Flow",
        "TrainingRun", "Prompt", "PromptVersion", "EvaluationRun", "ConversationTest",
        "ConversationTestRun", "PromptTestCase", "PromptTestRun",
    )}  # fmt: skip
    workspace = old["Workspace"].objects.create(name="Hotel")
    old["Membership"].objects.create(workspace=workspace, user=user, role="owner")
    assistant = old["Assistant"].objects.create(workspace=workspace, name="Concierge")
    intent = old["Intent"].objects.create(assistant=assistant, name="book_room")
    old["Utterance"].objects.create(intent=intent, text="a room for two nights")
    old["Entity"].objects.create(assistant=assistant, name="nights", kind="builtin")
    old["Flow"].objects.create(assistant=assistant, name="Main", graph={})
    training = old["TrainingRun"].objects.create(assistant=assistant)
    prompt = old["Prompt"].objects.create(assistant=assistant, name="Greeting")
    version = old["PromptVersion"].objects.create(prompt=prompt, number=1, template="Hi")
    evaluation = old["EvaluationRun"].objects.create(assistant=assistant, kind="holdout")
    test = old["ConversationTest"].objects.create(assistant=assistant, name="books a room")
    test_run = old["ConversationTestRun"].objects.create(assistant=assistant)
    case = old["PromptTestCase"].objects.create(prompt=prompt, name="says hi")
    prompt_run = old["PromptTestRun"].objects.create(version=version)
    conversation = apps.get_model("runtime", "Conversation").objects.create(assistant=assistant)
    knowledge_base = apps.get_model("knowledge", "KnowledgeBase").objects.create(
        assistant=assistant
    )
    call = apps.get_model("gateway", "Call").objects.create(
        workspace=workspace, assistant=assistant, prompt_version=version, purpose="generate"
    )
    return {
        "assistant": assistant.pk,
        "intent": intent.pk,
        "training": training.pk,
        "evaluation": evaluation.pk,
        "test": test.pk,
        "test_run": test_run.pk,
        "case": case.pk,
        "prompt_run": prompt_run.pk,
        "conversation": conversation.pk,
        "knowledge_base": knowledge_base.pk,
        "call": call.pk,
        "assistant_type": assistant_type.pk,
        "evaluation_type": evaluation_type.pk,
    }


@pytest.mark.django_db(transaction=True)
def test_a_database_from_before_the_move_upgrades_and_keeps_every_row() -> None:
    latest = _latest()
    ids = _old_rows(_migrate(BEFORE_THE_MOVE))

    _migrate(latest)

    assistant = Assistant.objects.get(pk=ids["assistant"])
    assert assistant.name == "Concierge"
    assert assistant.workspace.name == "Hotel"
    assert assistant.workspace.memberships.get().user.username == "before-the-move"
    assert Intent.objects.get(pk=ids["intent"]).utterances.get().text == "a room for two nights"
    assert list(assistant.entities.values_list("name", flat=True)) == ["nights"]
    assert list(assistant.flows.values_list("name", flat=True)) == ["Main"]
    assert TrainingRun.objects.get(pk=ids["training"]).assistant == assistant
    assert EvaluationRun.objects.get(pk=ids["evaluation"]).assistant == assistant
    assert ConversationTest.objects.get(pk=ids["test"]).name == "books a room"
    assert ConversationTestRun.objects.get(pk=ids["test_run"]).assistant == assistant
    case = PromptTestCase.objects.get(pk=ids["case"])
    assert case.prompt.name == "Greeting"
    assert PromptTestRun.objects.get(pk=ids["prompt_run"]).version.prompt == case.prompt
    assert Conversation.objects.get(pk=ids["conversation"]).assistant == assistant
    assert KnowledgeBase.objects.get(pk=ids["knowledge_base"]).assistant == assistant
    call = Call.objects.get(pk=ids["call"])
    assert (call.workspace, call.assistant) == (assistant.workspace, assistant)
    assert call.prompt_version is not None
    assert call.prompt_version.template == "Hi"
    # Admin history and permissions follow the models to their new apps.
    assert ContentType.objects.get(pk=ids["assistant_type"]).model_class() is Assistant
    assert ContentType.objects.get(pk=ids["evaluation_type"]).model_class() is EvaluationRun
