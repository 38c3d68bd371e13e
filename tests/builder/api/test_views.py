"""The REST API for workspaces, members and assistants, as a script would use it."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from django.contrib.auth.models import User
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from core.models import Assistant, Membership, Role, Workspace


def test_creating_a_workspace_makes_the_caller_its_owner(
    api_for: Callable[[User], APIClient], owner: User
) -> None:
    response = api_for(owner).post("/api/workspaces/", {"name": "  New   team "}, format="json")
    assert response.status_code == 201
    assert response.json()["name"] == "New team"
    assert response.json()["role"] == "owner"
    workspace = Workspace.objects.get(pk=response.json()["id"])
    assert workspace.memberships.get().user == owner


def test_an_assistant_goes_through_create_rename_and_delete(
    api_for: Callable[[User], APIClient], owner: User, workspace: Workspace
) -> None:
    client = api_for(owner)
    created = client.post(
        "/api/assistants/",
        {"workspace": workspace.pk, "name": "Helpdesk", "language": "fr"},
        format="json",
    )
    assert created.status_code == 201
    url = f"/api/assistants/{created.json()['id']}/"
    renamed = client.patch(url, {"name": "Service desk"}, format="json")
    assert renamed.json()["name"] == "Service desk"
    assert renamed.json()["language"] == "fr"
    assert client.delete(url).status_code == 204
    assert client.get(url).status_code == 404


def test_a_token_authenticates_a_script(owner: User, assistant: Assistant) -> None:
    client = APIClient()
    token = client.post(
        "/api/auth/token/", {"username": "olivia", "password": "a-long-test-passphrase"}
    ).json()["token"]
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    response = client.get("/api/assistants/")
    assert response.status_code == 200
    assert [a["name"] for a in response.json()["results"]] == ["Order bot"]
    assert Token.objects.get(user=owner).key == token


def test_a_malformed_json_body_gets_a_400_that_says_so(
    api_for: Callable[[User], APIClient], owner: User, workspace: Workspace
) -> None:
    response = api_for(owner).generic(
        "POST", "/api/assistants/", '{"name": "Broken",', content_type="application/json"
    )
    assert response.status_code == 400
    assert "JSON parse error" in response.json()["detail"]
    assert not Assistant.objects.exists()


@pytest.mark.parametrize(
    ("payload", "field", "message"),
    [
        ({"language": "en"}, "name", "This field is required."),
        ({"name": "x" * 101}, "name", "no more than 100 characters"),
        ({"name": "   "}, "name", "may not be blank"),
        ({"name": "Ok", "language": "klingon"}, "language", "not a valid choice"),
        ({"name": "Ok", "description": "d" * 2001}, "description", "no more than 2000"),
    ],
)
def test_bad_assistant_input_gets_a_400_naming_the_field_and_saves_nothing(
    api_for: Callable[[User], APIClient],
    owner: User,
    workspace: Workspace,
    payload: dict[str, str],
    field: str,
    message: str,
) -> None:
    response = api_for(owner).post(
        "/api/assistants/", {"workspace": workspace.pk, **payload}, format="json"
    )
    assert response.status_code == 400
    assert message in " ".join(response.json()[field])
    assert not Assistant.objects.exists()


def test_a_duplicate_assistant_name_is_refused_on_the_name_field(
    api_for: Callable[[User], APIClient], owner: User, assistant: Assistant
) -> None:
    response = api_for(owner).post(
        "/api/assistants/",
        {"workspace": assistant.workspace_id, "name": "ORDER BOT"},
        format="json",
    )
    assert response.status_code == 400
    assert "already has an assistant named" in response.json()["name"][0]
    assert Assistant.objects.count() == 1


def test_a_rename_that_fails_validation_keeps_the_saved_assistant(
    api_for: Callable[[User], APIClient], owner: User, assistant: Assistant
) -> None:
    response = api_for(owner).patch(
        f"/api/assistants/{assistant.pk}/",
        {"name": "Fine", "description": "d" * 2001},
        format="json",
    )
    assistant.refresh_from_db()
    assert response.status_code == 400
    assert "description" in response.json()
    assert (assistant.name, assistant.description) == ("Order bot", "Takes orders.")


def test_an_assistant_cannot_be_moved_to_another_workspace(
    api_for: Callable[[User], APIClient],
    owner: User,
    assistant: Assistant,
) -> None:
    second = api_for(owner).post("/api/workspaces/", {"name": "Second"}, format="json").json()
    api_for(owner).patch(
        f"/api/assistants/{assistant.pk}/", {"workspace": second["id"]}, format="json"
    )
    assistant.refresh_from_db()
    assert assistant.workspace.name == "Acme support"


def test_owners_add_members_by_email_and_change_their_role(
    api_for: Callable[[User], APIClient],
    owner: User,
    outsider: User,
    workspace: Workspace,
) -> None:
    client = api_for(owner)
    added = client.post(
        f"/api/workspaces/{workspace.pk}/members/",
        {"user": "OSCAR@example.com", "role": "viewer"},
        format="json",
    )
    assert added.status_code == 201
    assert added.json()["username"] == "oscar"
    changed = client.patch(
        f"/api/workspaces/{workspace.pk}/members/{added.json()['id']}/",
        {"role": "editor"},
        format="json",
    )
    assert changed.json()["role"] == "editor"
    assert Membership.objects.get(user=outsider, workspace=workspace).role == Role.EDITOR


def test_adding_an_unknown_account_names_the_user_field(
    api_for: Callable[[User], APIClient], owner: User, workspace: Workspace
) -> None:
    response = api_for(owner).post(
        f"/api/workspaces/{workspace.pk}/members/", {"user": "nobody"}, format="json"
    )
    assert response.status_code == 400
    assert "No account" in response.json()["user"][0]


def test_the_last_owner_cannot_leave_or_be_demoted(
    api_for: Callable[[User], APIClient], owner: User, workspace: Workspace
) -> None:
    client = api_for(owner)
    membership = workspace.memberships.get(user=owner)
    url = f"/api/workspaces/{workspace.pk}/members/{membership.pk}/"
    demoted = client.patch(url, {"role": "viewer"}, format="json")
    removed = client.delete(url)
    assert demoted.status_code == 400
    assert "at least one owner" in demoted.json()["role"][0]
    assert removed.status_code == 400
    membership.refresh_from_db()
    assert membership.role == Role.OWNER


def test_the_openapi_schema_describes_every_endpoint(
    api_for: Callable[[User], APIClient], owner: User
) -> None:
    response = api_for(owner).get("/api/schema/?format=json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    for path in [
        "/api/assistants/",
        "/api/assistants/{id}/",
        "/api/workspaces/",
        "/api/workspaces/{id}/",
        "/api/workspaces/{workspace_pk}/members/",
        "/api/workspaces/{workspace_pk}/members/{id}/",
        "/api/auth/token/",
    ]:
        assert path in paths, path


def test_the_api_docs_page_loads_its_assets_from_this_server(
    api_for: Callable[[User], APIClient], owner: User
) -> None:
    page = api_for(owner).get("/api/docs/").content.decode()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/" in page
    # Every script, style sheet and image comes from this server (a CDN would be absolute).
    assets = re.findall(r"""(?:src|href)\s*=\s*["']([^"']+)["']""", page)
    assert assets
    assert [url for url in assets if "//" in url] == []


def test_the_schema_validates_without_warnings(tmp_path) -> None:
    from django.core.management import call_command

    target = tmp_path / "schema.yml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(target))
    assert "/api/assistants/" in target.read_text()
