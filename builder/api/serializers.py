from __future__ import annotations

from typing import Any

from rest_framework import serializers

from core.models import (
    DESCRIPTION_MAX_LENGTH,
    NAME_MAX_LENGTH,
    Assistant,
    Language,
    Membership,
    Prompt,
    PromptVersion,
    Role,
    Workspace,
)
from gateway.models import LlmModel


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
    llm_model = serializers.SlugRelatedField(
        slug_field="key",
        queryset=LlmModel.objects.all(),
        allow_null=True,
        required=False,
        help_text="Catalogue key of the assistant's LLM; null: the instance default.",
    )

    class Meta:
        model = Assistant
        fields = [
            "id",
            "workspace",
            "name",
            "description",
            "language",
            "allowed_origins",
            "llm_model",
            "llm_requests_per_minute",
            "llm_tokens_per_minute",
            "llm_monthly_budget",
            "llm_injection_judge",
            "hybrid_enabled",
            "hybrid_low",
            "hybrid_high",
            "nlu_threshold",
            "nlu_mode",
            "created_at",
            "updated_at",
        ]
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


class AssistantOwned(serializers.ModelSerializer[Any]):
    """A row that belongs to an assistant: created only in one of the caller's, never moved."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        if self.instance is not None:
            self.fields["assistant"].read_only = True
        elif request is not None:
            members = Assistant.objects.for_member(request.user)
            self.fields["assistant"].queryset = members  # type: ignore[attr-defined]


class PromptVersionSerializer(serializers.ModelSerializer[PromptVersion]):
    model = serializers.SlugRelatedField(
        slug_field="key",
        queryset=LlmModel.objects.all(),
        allow_null=True,
        required=False,
        help_text="Catalogue key; null: the assistant's model.",
    )

    class Meta:
        model = PromptVersion
        fields = [
            "id",
            "number",
            "system",
            "template",
            "variables",
            "model",
            "temperature",
            "max_tokens",
            "notes",
            "output_schema",
            "created_at",
        ]
        read_only_fields = ["id", "number", "variables", "created_at"]
        extra_kwargs = {
            "output_schema": {
                "help_text": "A JSON schema of an object: the reply is structured (optional)."
            }
        }


class PromptSerializer(AssistantOwned):
    assistant = serializers.PrimaryKeyRelatedField(queryset=Assistant.objects.none())
    name = serializers.CharField(max_length=NAME_MAX_LENGTH)
    latest = serializers.SerializerMethodField()
    first_version = PromptVersionSerializer(write_only=True, help_text="The prompt's wording.")

    class Meta:
        model = Prompt
        fields = ["id", "assistant", "name", "latest", "first_version", "created_at"]
        read_only_fields = ["id", "created_at"]

    def get_latest(self, prompt: Prompt) -> dict[str, Any] | None:
        version = prompt.versions.order_by("-number").first()
        return PromptVersionSerializer(version).data if version else None
