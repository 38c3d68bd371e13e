from __future__ import annotations

from io import StringIO

from django.core.management import call_command
from django.test import Client

from builder.models import Assistant, Prompt, Workspace


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
