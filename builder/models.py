"""Workspaces, their members, and the assistants they own.

Every query for workspace data starts from ``for_member(user)``, so a member of another workspace
never sees a row: views and the API turn that absence into a 404.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.conf import settings
from django.db import models
from django.db.models import OuterRef, Subquery
from django.db.models.functions import Lower

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser, User

NAME_MAX_LENGTH = 100
DESCRIPTION_MAX_LENGTH = 2000


class Role(models.TextChoices):
    OWNER = "owner", "Owner"
    EDITOR = "editor", "Editor"
    VIEWER = "viewer", "Viewer"


def _role_of(user: User, workspace_ref: str) -> Subquery:
    return Subquery(
        Membership.objects.filter(workspace=OuterRef(workspace_ref), user=user).values("role")[:1]
    )


class WorkspaceQuerySet(models.QuerySet["Workspace"]):
    def for_member(self, user: User | AnonymousUser) -> WorkspaceQuerySet:
        """The user's workspaces, each annotated with ``member_role``, the user's role in it."""
        if not user.is_authenticated:
            return self.none()
        # The model declares member_role for type checkers; the plugin sees it as a redefinition.
        members = self.filter(memberships__user=user)
        return members.annotate(member_role=_role_of(user, "pk"))  # type: ignore[no-redef]


class Workspace(models.Model):
    name = models.CharField(max_length=NAME_MAX_LENGTH)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = WorkspaceQuerySet.as_manager()
    member_role: str | None  # the requesting user's role, annotated by for_member()

    class Meta:
        ordering = [Lower("name"), "id"]

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.VIEWER)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["workspace", "user"], name="one_membership_per_user")
        ]
        ordering = ["workspace_id", "user__username"]

    def __str__(self) -> str:
        return f"{self.user} in {self.workspace} ({self.role})"


def can_edit(role: Role | str | None) -> bool:
    """Owners and editors change a workspace's assistants; viewers only look."""
    return role in (Role.OWNER, Role.EDITOR)


def can_manage(role: Role | str | None) -> bool:
    """Only owners rename or delete a workspace and decide who belongs to it."""
    return role == Role.OWNER


class Language(models.TextChoices):
    ENGLISH = "en", "English"
    FRENCH = "fr", "French"
    GERMAN = "de", "German"
    SPANISH = "es", "Spanish"
    ITALIAN = "it", "Italian"
    PORTUGUESE = "pt", "Portuguese"
    DUTCH = "nl", "Dutch"


class AssistantQuerySet(models.QuerySet["Assistant"]):
    def for_member(self, user: User | AnonymousUser) -> AssistantQuerySet:
        """Assistants of the user's workspaces, each annotated with the user's ``member_role``."""
        if not user.is_authenticated:
            return self.none()
        return (
            self.filter(workspace__memberships__user=user)
            .annotate(member_role=_role_of(user, "workspace_id"))  # type: ignore[no-redef]
            .select_related("workspace")
        )


class Assistant(models.Model):
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="assistants")
    name = models.CharField(max_length=NAME_MAX_LENGTH)
    description = models.TextField(max_length=DESCRIPTION_MAX_LENGTH, blank=True)
    language = models.CharField(max_length=8, choices=Language.choices, default=Language.ENGLISH)
    # What the assistant may spend on LLMs; the gateway enforces these on every call.
    llm_model = models.ForeignKey(
        "gateway.LlmModel",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="Empty: the instance's default model.",
    )
    llm_requests_per_minute = models.PositiveIntegerField(null=True, blank=True, default=60)
    llm_tokens_per_minute = models.PositiveIntegerField(null=True, blank=True, default=100_000)
    llm_monthly_budget = models.DecimalField(
        max_digits=12, decimal_places=2, null=True, blank=True, help_text="US dollars; empty: none."
    )
    llm_injection_judge = models.BooleanField(
        default=False, help_text="Also ask the LLM whether user text tries to hijack a prompt."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = AssistantQuerySet.as_manager()
    member_role: str | None  # the requesting user's role, annotated by for_member()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                "workspace", Lower("name"), name="assistant_name_unique_in_workspace"
            )
        ]
        ordering = [Lower("name"), "id"]

    def __str__(self) -> str:
        return self.name


class PromptQuerySet(models.QuerySet["Prompt"]):
    def for_member(self, user: User | AnonymousUser) -> PromptQuerySet:
        """Prompts of the user's assistants, each annotated with the user's ``member_role``."""
        if not user.is_authenticated:
            return self.none()
        return (
            self.filter(assistant__workspace__memberships__user=user)
            .annotate(member_role=_role_of(user, "assistant__workspace_id"))  # type: ignore[no-redef]
            .select_related("assistant")
        )


class Prompt(models.Model):
    """A named LLM prompt of an assistant; what it says lives in its immutable versions."""

    assistant = models.ForeignKey(Assistant, on_delete=models.CASCADE, related_name="prompts")
    name = models.CharField(max_length=NAME_MAX_LENGTH)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = PromptQuerySet.as_manager()
    member_role: str | None  # the requesting user's role, annotated by for_member()

    class Meta:
        constraints = [
            models.UniqueConstraint("assistant", Lower("name"), name="prompt_name_unique")
        ]
        ordering = [Lower("name"), "id"]

    def __str__(self) -> str:
        return self.name


class PromptVersion(models.Model):
    """One frozen wording of a prompt; flow steps and the LLM ledger point at a version."""

    prompt = models.ForeignKey(Prompt, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    system = models.TextField(blank=True, max_length=20_000)
    template = models.TextField(max_length=20_000)  # {{ variable }} placeholders
    variables = models.JSONField(default=list)  # the names the template uses, all required
    model = models.ForeignKey(
        "gateway.LlmModel", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    temperature = models.FloatField(default=0.3)
    max_tokens = models.PositiveIntegerField(default=400)
    notes = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["prompt", "number"], name="prompt_version_number_unique"
            )
        ]
        ordering = ["prompt_id", "-number"]

    def __str__(self) -> str:
        return f"{self.prompt} v{self.number}"
