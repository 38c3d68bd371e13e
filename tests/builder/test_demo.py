from __future__ import annotations

from io import StringIO

from django.core.management import call_command
from django.test import Client

from builder import services
from core.models import Assistant, Prompt, Workspace
from runtime.flow_graph import check


def test_seed_demo_creates_a_demo_that_one_can_log_into(db: None) -> None:
    output = StringIO()
    call_command("seed_demo", stdout=output)
    client = Client()
    assert "username 'demo' and password 'parley-demo'" in output.getvalue()
    assert client.login(username="demo", password="parley-demo")
    workspace = Workspace.objects.get(name="Demo workspace")
    page = client.get(f"/workspaces/{workspace.pk}/").content.decode()
    assert "Pizza Palace" in page


def test_seed_demo_is_idempotent(db: None) -> None:
    call_command("seed_demo", stdout=StringIO())
    call_command("seed_demo", stdout=StringIO())
    assert Workspace.objects.count() == 1
    assert Assistant.objects.count() == 1
    assert Prompt.objects.count() == 1


def test_the_demo_assistant_has_intents_entities_and_a_valid_multi_step_flow(db: None) -> None:
    call_command("seed_demo", stdout=StringIO())

    assistant = Assistant.objects.get(name="Pizza Palace")
    assert assistant.intents.count() >= 8
    assert assistant.entities.count() >= 3
    assert all(intent.utterances.count() >= 8 for intent in assistant.intents.all())
    flow = assistant.flows.get()
    assert check(flow.graph, services.flow_catalogue(assistant)) == []
    kinds = {step["type"] for step in flow.graph["steps"]}
    assert {"message", "capture", "condition", "set", "end"} <= kinds
