"""Workspaces and their members.

Every query for workspace data starts from ``for_member(user)``, so a member of another workspace
never sees a row: views and the API turn that absence into a 404.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

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


def role_of(user: User, workspace_ref: str) -> Subquery:
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
        return members.annotate(member_role=role_of(user, "pk"))  # type: ignore[no-redef]


class Workspace(models.Model):
    name = models.CharField(max_length=NAME_MAX_LENGTH)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = WorkspaceQuerySet.as_manager()
    member_role: str | None  # the requesting user's role, annotated by for_member()

    class Meta:
        db_table = "builder_workspace"  # named when it lived in builder
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
        db_table = "builder_membership"  # named when it lived in builder
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


def member_rows(
    queryset: models.QuerySet[Any], user: User | AnonymousUser, *, assistant: str = "assistant"
) -> models.QuerySet[Any]:
    """Rows that belong to the user's assistants (``assistant`` is the lookup path to one), each
    annotated with the user's ``member_role``."""
    if not user.is_authenticated:
        return queryset.none()
    return queryset.filter(**{f"{assistant}__workspace__memberships__user": user}).annotate(
        member_role=role_of(user, f"{assistant}__workspace_id")
    )
