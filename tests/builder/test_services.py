from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError

from builder import services
from core.models import Assistant, Role, Workspace
from runtime.listings import Origin, origin_parts, socket_own_origin


def test_assistant_names_are_unique_per_workspace_ignoring_case(
    assistant: Assistant, other_workspace: Workspace
) -> None:
    with pytest.raises(ValidationError) as error:
        services.assistant_create(workspace=assistant.workspace, name="order BOT")
    assert "name" in error.value.message_dict
    # Another workspace may use the same name.
    assert services.assistant_create(workspace=other_workspace, name="Order bot").pk


def test_a_workspace_keeps_an_owner_once_a_second_owner_exists(
    workspace: Workspace, owner: User, editor: User
) -> None:
    promoted = services.member_change_role(
        membership=workspace.memberships.get(user=editor), role=Role.OWNER
    )
    services.member_remove(membership=workspace.memberships.get(user=owner))
    assert list(workspace.memberships.values_list("user", "role")) == [(promoted.user_id, "owner")]


def test_adding_someone_twice_is_refused(workspace: Workspace, editor: User) -> None:
    with pytest.raises(ValidationError, match="already a member"):
        services.member_add(workspace=workspace, username_or_email="EDDIE", role=Role.VIEWER)


@pytest.mark.parametrize(
    "origin",
    [
        "shop.example.com",
        "ftp://shop.example.com",
        "https://x/y",
        "https://x?y",
        "https://someone@shop.example.com",
        "https://shop.example.com:0",
        "https://shop.example.com:65536",
        "https://shop.example.com:https",
        "null",
    ],
)
def test_an_allowed_origin_must_be_a_site(assistant, origin) -> None:
    with pytest.raises(ValidationError, match="not a site"):
        services.assistant_update(assistant=assistant, allowed_origins=[origin])


def test_allowed_sites_are_kept_as_origins_without_their_default_port(assistant) -> None:
    services.assistant_update(
        assistant=assistant,
        allowed_origins=[
            "https://Shop.example.com:443/",
            "HTTPS://shop.example.com",
            "http://shop.example.com:80",
            "https://shop.example.com:8443",
            "http://[::1]:8000",
            "*",
        ],
    )

    assert assistant.allowed_origins == [
        "https://shop.example.com",
        "http://shop.example.com",
        "https://shop.example.com:8443",
        "http://[::1]:8000",
        "*",
    ]


@pytest.mark.parametrize(
    ("text", "parts"),
    [
        ("https://Shop.Example.com", ("https", "shop.example.com", 443)),
        ("https://shop.example.com:443/", ("https", "shop.example.com", 443)),
        ("http://shop.example.com", ("http", "shop.example.com", 80)),
        ("https://shop.example:8443", ("https", "shop.example", 8443)),
        ("http://[::1]:8000", ("http", "[::1]", 8000)),
        ("http://127.0.0.1", ("http", "127.0.0.1", 80)),
        ("null", None),
        ("shop.example", None),
        ("ws://shop.example", None),
        ("https://shop.example/page", None),
        ("https://a@shop.example", None),
        ("https://shop.example:99999", None),
        ("https://", None),
    ],
)
def test_an_origin_is_its_scheme_host_and_port(text: str, parts: Origin | None) -> None:
    assert origin_parts(text) == parts


@pytest.mark.parametrize(
    ("scope", "own"),
    [
        ({"scheme": "ws", "headers": [(b"host", b"testserver")]}, ("http", "testserver", 80)),
        ({"scheme": "wss", "headers": [(b"host", b"testserver")]}, ("https", "testserver", 443)),
        ({"headers": [(b"host", b"testserver:8000")]}, ("http", "testserver", 8000)),
        ({"scheme": "wss", "headers": [(b"host", b"evil.example")]}, None),  # not ALLOWED_HOSTS
        ({"scheme": "wss", "headers": []}, None),
    ],
)
def test_a_sockets_own_origin_is_its_host_over_its_scheme(
    scope: dict[str, Any], own: Origin | None
) -> None:
    assert socket_own_origin(scope) == own
