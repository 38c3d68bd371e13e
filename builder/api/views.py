"""REST endpoints for workspaces, members and assistants; thin wrappers around the services."""

from __future__ import annotations

from typing import Any, cast

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.exceptions import PermissionDenied
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer

from builder import services
from builder.api.serializers import (
    AssistantSerializer,
    MembershipCreateSerializer,
    MembershipRoleSerializer,
    MembershipSerializer,
    PromptSerializer,
    PromptVersionSerializer,
    WorkspaceSerializer,
)
from core.api.access import of_assistant, query_id, request_user
from core.api.permissions import WorkspaceRole
from core.api.schema import ASSISTANT_FILTER, WORKSPACE_FILTER
from core.models import (
    Assistant,
    Membership,
    Prompt,
    PromptVersion,
    Role,
    Workspace,
    can_edit,
    can_manage,
)


class WorkspaceViewSet(viewsets.ModelViewSet[Workspace]):
    """Workspaces you belong to. Creating one makes you its owner."""

    serializer_class = WorkspaceSerializer
    permission_classes = [WorkspaceRole]
    requires_owner = True

    def get_queryset(self) -> QuerySet[Workspace]:
        return Workspace.objects.for_member(request_user(self.request))

    def perform_create(self, serializer: BaseSerializer[Workspace]) -> None:
        workspace = services.workspace_create(
            name=serializer.validated_data["name"], owner=request_user(self.request)
        )
        serializer.instance = self.get_queryset().get(pk=workspace.pk)

    def perform_update(self, serializer: BaseSerializer[Workspace]) -> None:
        workspace = cast(Workspace, serializer.instance)
        if "name" in serializer.validated_data:  # a PATCH may leave it out
            services.workspace_rename(workspace=workspace, name=serializer.validated_data["name"])


class MembershipViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet[Membership],
):
    """Members of one workspace. Every member can see them; only owners change them."""

    serializer_class = MembershipSerializer

    def workspace(self) -> Workspace:
        return get_object_or_404(
            Workspace.objects.for_member(request_user(self.request)), pk=self.kwargs["workspace_pk"]
        )

    def owned_workspace(self) -> Workspace:
        workspace = self.workspace()
        if not can_manage(workspace.member_role):
            raise PermissionDenied("Only owners can change who belongs to a workspace.")
        return workspace

    def get_queryset(self) -> QuerySet[Membership]:
        if getattr(self, "swagger_fake_view", False):
            return Membership.objects.none()
        return self.workspace().memberships.select_related("user")

    @extend_schema(request=MembershipCreateSerializer, responses={201: MembershipSerializer})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        workspace = self.owned_workspace()
        payload = MembershipCreateSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        membership = services.member_add(
            workspace=workspace,
            username_or_email=payload.validated_data["user"],
            role=Role(payload.validated_data["role"]),
        )
        return Response(MembershipSerializer(membership).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=MembershipRoleSerializer, responses=MembershipSerializer)
    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        membership = get_object_or_404(self.owned_workspace().memberships, pk=kwargs["pk"])
        payload = MembershipRoleSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        services.member_change_role(
            membership=membership, role=Role(payload.validated_data["role"])
        )
        return Response(MembershipSerializer(membership).data)

    def perform_destroy(self, instance: Membership) -> None:
        self.owned_workspace()
        services.member_remove(membership=instance)


LLM_POLICY_FIELDS = (
    "llm_model",
    "llm_requests_per_minute",
    "llm_tokens_per_minute",
    "llm_monthly_budget",
    "llm_injection_judge",
)
# How the assistant understands turns: set through assistant_update, after creation too.
UNDERSTANDING_FIELDS = ("hybrid_enabled", "hybrid_low", "hybrid_high", "nlu_threshold", "nlu_mode")


@extend_schema_view(list=extend_schema(parameters=[WORKSPACE_FILTER]))
class AssistantViewSet(viewsets.ModelViewSet[Assistant]):
    """Assistants in your workspaces; filter with ``?workspace=ID``."""

    serializer_class = AssistantSerializer
    permission_classes = [WorkspaceRole]

    def get_queryset(self) -> QuerySet[Assistant]:
        assistants = Assistant.objects.for_member(request_user(self.request))
        workspace = self.request.query_params.get("workspace")
        if workspace is not None:
            assistants = assistants.filter(workspace_id=query_id(workspace))
        return assistants

    def perform_create(self, serializer: BaseSerializer[Assistant]) -> None:
        data = dict(serializer.validated_data)
        workspace = data.pop("workspace")
        if not can_edit(workspace.member_role):
            raise PermissionDenied("Viewers cannot create assistants.")
        policy = {field: data.pop(field) for field in LLM_POLICY_FIELDS if field in data}
        understanding = {field: data.pop(field) for field in UNDERSTANDING_FIELDS if field in data}
        assistant = services.assistant_create(workspace=workspace, **data)
        if policy:
            self._policy_update(assistant, policy)
        if understanding:
            services.assistant_update(assistant=assistant, **understanding)
        serializer.instance = self.get_queryset().get(pk=assistant.pk)

    def perform_update(self, serializer: BaseSerializer[Assistant]) -> None:
        assistant = cast(Assistant, serializer.instance)
        data = dict(serializer.validated_data)
        policy = {field: data.pop(field) for field in LLM_POLICY_FIELDS if field in data}
        if policy:
            self._policy_update(assistant, policy)
        services.assistant_update(assistant=assistant, **data)

    @staticmethod
    def _policy_update(assistant: Assistant, policy: dict[str, Any]) -> None:
        merged = {field: getattr(assistant, field) for field in LLM_POLICY_FIELDS} | policy
        services.assistant_llm_policy_update(
            assistant=assistant,
            model=merged["llm_model"],
            requests_per_minute=merged["llm_requests_per_minute"],
            tokens_per_minute=merged["llm_tokens_per_minute"],
            monthly_budget=merged["llm_monthly_budget"],
            injection_judge=merged["llm_injection_judge"],
        )

    def perform_destroy(self, instance: Assistant) -> None:
        services.assistant_delete(assistant=instance)


@extend_schema_view(list=extend_schema(parameters=[ASSISTANT_FILTER]))
class PromptViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet[Prompt],
):
    """LLM prompts of your assistants (filter with ``?assistant=ID``); wording lives in versions."""

    serializer_class = PromptSerializer
    permission_classes = [WorkspaceRole]

    def get_queryset(self) -> QuerySet[Prompt]:
        return of_assistant(self.request, Prompt.objects.for_member(request_user(self.request)))

    def perform_create(self, serializer: BaseSerializer[Prompt]) -> None:
        data = dict(serializer.validated_data)
        assistant = data["assistant"]
        if not can_edit(assistant.member_role):
            raise PermissionDenied("Viewers cannot create prompts.")
        serializer.instance = services.prompt_create(
            assistant=assistant, name=data["name"], **data["first_version"]
        )


class PromptVersionViewSet(
    mixins.ListModelMixin, mixins.CreateModelMixin, viewsets.GenericViewSet[PromptVersion]
):
    """Versions of one prompt, newest first. Versions never change; saving makes a new one."""

    serializer_class = PromptVersionSerializer

    def prompt(self) -> Prompt:
        """The prompt, if it belongs to one of the caller's assistants (else 404)."""
        prompts = Prompt.objects.for_member(request_user(self.request))
        return get_object_or_404(prompts, pk=self.kwargs["prompt_pk"])

    def get_queryset(self) -> QuerySet[PromptVersion]:
        if getattr(self, "swagger_fake_view", False):
            return PromptVersion.objects.none()
        return self.prompt().versions.select_related("model")

    def perform_create(self, serializer: BaseSerializer[PromptVersion]) -> None:
        prompt = self.prompt()
        if not can_edit(prompt.member_role):
            raise PermissionDenied("Viewers cannot change prompts.")
        serializer.instance = services.prompt_version_create(
            prompt=prompt, **serializer.validated_data
        )
