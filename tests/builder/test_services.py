from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError

from builder import services
from core.models import Assistant, Role, Workspace


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


@pytest.mark.parametrize("origin", ["shop.example.com", "ftp://shop.example.com", "https://x/y"])
def test_an_allowed_origin_must_be_a_site(assistant, origin) -> None:
    with pytest.raises(ValidationError, match="not a site"):
        services.assistant_update(assistant=assistant, allowed_origins=[origin])
