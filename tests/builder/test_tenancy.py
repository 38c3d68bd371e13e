"""Workspace data is invisible across workspaces (404) and read-only to viewers (403)."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from django.contrib.auth.models import User
from django.test import Client
from rest_framework.test import APIClient

from core.models import Assistant, Membership, Workspace
from tests.support.tenancy import API, PAGES


def _fill(template: str, assistant: Assistant) -> str:
    membership = assistant.workspace.memberships.first()
    assert membership is not None
    return template.format(w=assistant.workspace_id, a=assistant.pk, m=membership.pk)


def _snapshot(workspace: Workspace) -> tuple[object, ...]:
    return (
        Workspace.objects.filter(pk=workspace.pk).values_list("name").first(),
        sorted(Membership.objects.filter(workspace=workspace).values_list("user_id", "role")),
        sorted(Assistant.objects.filter(workspace=workspace).values_list("name", "description")),
    )


@pytest.mark.parametrize(("method", "url", "data"), PAGES)
def test_pages_of_another_workspace_answer_404_and_change_nothing(
    client_for: Callable[[User], Client],
    owner: User,
    other_assistant: Assistant,
    method: str,
    url: str,
    data: dict[str, str],
) -> None:
    before = _snapshot(other_assistant.workspace)
    response = getattr(client_for(owner), method)(_fill(url, other_assistant), data)
    assert response.status_code == 404
    assert b"Rival" not in response.content
    assert _snapshot(other_assistant.workspace) == before


@pytest.mark.parametrize(("method", "url", "data"), API)
def test_api_of_another_workspace_answers_404_and_changes_nothing(
    api_for: Callable[[User], APIClient],
    owner: User,
    other_assistant: Assistant,
    method: str,
    url: str,
    data: dict[str, str] | None,
) -> None:
    before = _snapshot(other_assistant.workspace)
    response = getattr(api_for(owner), method)(_fill(url, other_assistant), data, format="json")
    assert response.status_code == 404
    assert b"Rival" not in response.content
    assert _snapshot(other_assistant.workspace) == before


def test_api_lists_only_the_members_own_workspaces_and_assistants(
    api_for: Callable[[User], APIClient],
    owner: User,
    assistant: Assistant,
    other_assistant: Assistant,
) -> None:
    client = api_for(owner)
    workspaces = client.get("/api/workspaces/").json()["results"]
    assistants = client.get("/api/assistants/").json()["results"]
    filtered = client.get(f"/api/assistants/?workspace={other_assistant.workspace_id}").json()
    assert [w["name"] for w in workspaces] == ["Acme support"]
    assert [a["name"] for a in assistants] == ["Order bot"]
    assert filtered["results"] == []


def test_pages_list_only_the_members_own_workspaces(
    client_for: Callable[[User], Client],
    owner: User,
    assistant: Assistant,
    other_assistant: Assistant,
) -> None:
    page = client_for(owner).get("/workspaces/").content.decode()
    assert "Acme support" in page
    assert "Rival corp" not in page


def test_api_refuses_to_create_an_assistant_in_another_workspace(
    api_for: Callable[[User], APIClient],
    owner: User,
    other_workspace: Workspace,
) -> None:
    payload = {"workspace": other_workspace.pk, "name": "Planted"}
    response = api_for(owner).post("/api/assistants/", payload, format="json")
    assert response.status_code == 400
    assert "workspace" in response.json()
    assert not Assistant.objects.filter(name="Planted").exists()


# A viewer sees the workspace but every change is refused.
VIEWER_PAGE_WRITES = [
    ("post", "/workspaces/{w}/", {"name": "Sneaky", "language": "en"}),
    ("get", "/workspaces/{w}/settings/", {}),
    ("post", "/workspaces/{w}/settings/", {"name": "Renamed"}),
    ("post", "/workspaces/{w}/delete/", {"confirm_name": "Acme support"}),
    ("post", "/workspaces/{w}/members/", {"user": "vera", "role": "owner"}),
    ("post", "/workspaces/{w}/members/{m}/", {"role": "viewer"}),
    ("post", "/workspaces/{w}/members/{m}/", {"action": "remove"}),
    ("get", "/assistants/{a}/edit/", {}),
    ("post", "/assistants/{a}/edit/", {"name": "Renamed", "language": "en"}),
    ("get", "/assistants/{a}/delete/", {}),
    ("post", "/assistants/{a}/delete/", {}),
]
VIEWER_API_WRITES = [(method, url, data) for method, url, data in API if method != "get"]


@pytest.mark.parametrize(("method", "url", "data"), VIEWER_PAGE_WRITES)
def test_a_viewer_cannot_change_anything_through_the_pages(
    client_for: Callable[[User], Client],
    viewer: User,
    assistant: Assistant,
    method: str,
    url: str,
    data: dict[str, str],
) -> None:
    before = _snapshot(assistant.workspace)
    response = getattr(client_for(viewer), method)(_fill(url, assistant), data)
    assert response.status_code == 403
    assert _snapshot(assistant.workspace) == before


@pytest.mark.parametrize(("method", "url", "data"), VIEWER_API_WRITES)
def test_a_viewer_cannot_change_anything_through_the_api(
    api_for: Callable[[User], APIClient],
    viewer: User,
    assistant: Assistant,
    method: str,
    url: str,
    data: dict[str, str] | None,
) -> None:
    before = _snapshot(assistant.workspace)
    response = getattr(api_for(viewer), method)(_fill(url, assistant), data, format="json")
    assert response.status_code == 403
    assert _snapshot(assistant.workspace) == before


def test_a_viewer_cannot_create_an_assistant_through_the_api(
    api_for: Callable[[User], APIClient],
    viewer: User,
    workspace: Workspace,
) -> None:
    payload = {"workspace": workspace.pk, "name": "Planted"}
    response = api_for(viewer).post("/api/assistants/", payload, format="json")
    assert response.status_code == 403
    assert not Assistant.objects.filter(name="Planted").exists()


def test_a_viewer_can_read_the_assistant_and_sees_no_edit_buttons(
    client_for: Callable[[User], Client],
    api_for: Callable[[User], APIClient],
    viewer: User,
    assistant: Assistant,
) -> None:
    page = client_for(viewer).get(f"/assistants/{assistant.pk}/").content.decode()
    api = api_for(viewer).get(f"/api/assistants/{assistant.pk}/")
    assert "Order bot" in page
    assert "Rename or edit" not in page
    assert api.status_code == 200
    assert json.loads(api.content)["name"] == "Order bot"


def test_an_editor_can_change_assistants_but_not_the_workspace(
    api_for: Callable[[User], APIClient],
    editor: User,
    assistant: Assistant,
) -> None:
    client = api_for(editor)
    renamed = client.patch(f"/api/assistants/{assistant.pk}/", {"name": "Pizza bot"}, format="json")
    workspace = client.patch(
        f"/api/workspaces/{assistant.workspace_id}/", {"name": "Mine now"}, format="json"
    )
    assert renamed.status_code == 200
    assert workspace.status_code == 403
    assert Workspace.objects.get(pk=assistant.workspace_id).name == "Acme support"


def test_an_anonymous_visitor_is_sent_to_log_in_and_the_api_refuses_them(
    client: Client, assistant: Assistant
) -> None:
    page = client.get(f"/assistants/{assistant.pk}/")
    api = APIClient().get(f"/api/assistants/{assistant.pk}/")
    assert page.status_code == 302
    assert page["Location"].startswith("/accounts/login/")
    assert api.status_code in (401, 403)
