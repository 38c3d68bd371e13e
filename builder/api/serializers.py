from __future__ import annotations

from typing import Any

from rest_framework import serializers

from builder.models import (
    DESCRIPTION_MAX_LENGTH,
    NAME_MAX_LENGTH,
    Assistant,
    Language,
    Membership,
    Role,
    Workspace,
)


class WorkspaceSerializer(serializers.ModelSerializer[Workspace]):
    name = serializers.CharField(max_length=NAME_MAX_LENGTH)
    role = serializers.ChoiceField(
        source="member_role", choices=Role.choices, read_only=True, help_text="Your role here."
    )

    class Meta:
        model = Workspace
        fields = ["id", "name", "role", "created_at"]
        read_only_fields = ["id", "created_at"]


class MembershipSerializer(serializers.ModelSerializer[Membership]):
    username = serializers.CharField(source="user.username", read_only=True)
    email = serializers.EmailField(source="user.email", read_only=True)

    class Meta:
        model = Membership
        fields = ["id", "username", "email", "role", "created_at"]
        read_only_fields = ["id", "created_at"]


class MembershipCreateSerializer(serializers.Serializer[Membership]):
    user = serializers.CharField(
        max_length=254, help_text="Username or email of an existing account."
    )
    role = serializers.ChoiceField(choices=Role.choices, default=Role.EDITOR)


class MembershipRoleSerializer(serializers.Serializer[Membership]):
    role = serializers.ChoiceField(choices=Role.choices)


class AssistantSerializer(serializers.ModelSerializer[Assistant]):
    workspace = serializers.PrimaryKeyRelatedField(queryset=Workspace.objects.none())
    name = serializers.CharField(max_length=NAME_MAX_LENGTH)
    description = serializers.CharField(
        max_length=DESCRIPTION_MAX_LENGTH, allow_blank=True, required=False, default=""
    )
    language = serializers.ChoiceField(choices=Language.choices, default=Language.ENGLISH)

    class Meta:
        model = Assistant
        fields = ["id", "workspace", "name", "description", "language", "created_at", "updated_at"]
        read_only_fields = ["id", "created_at", "updated_at"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        workspace = self.fields["workspace"]
        if self.instance is not None:
            # An assistant stays in its workspace; moving it is not an update.
            workspace.read_only = True
        elif request is not None:
            # Other workspaces' ids are refused as if they did not exist.
            workspace.queryset = Workspace.objects.for_member(request.user)  # type: ignore[attr-defined]
