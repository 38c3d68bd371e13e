"""Workspaces and who belongs to them."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q

from core.models import NAME_MAX_LENGTH, Membership, Role, Workspace


def clean_name(name: str, *, field: str = "name") -> str:
    """Whitespace collapsed; blank or too long is a field error."""
    cleaned = " ".join(name.split())
    if not cleaned:
        raise ValidationError({field: "This field may not be blank."})
    if len(cleaned) > NAME_MAX_LENGTH:
        raise ValidationError(
            {field: f"Ensure this field has no more than {NAME_MAX_LENGTH} characters."}
        )
    return cleaned


@transaction.atomic
def workspace_create(*, name: str, owner: User) -> Workspace:
    """Create a workspace with ``owner`` as its first owner."""
    workspace = Workspace.objects.create(name=clean_name(name))
    Membership.objects.create(workspace=workspace, user=owner, role=Role.OWNER)
    return workspace


@transaction.atomic
def workspace_rename(*, workspace: Workspace, name: str) -> Workspace:
    """Give the workspace a new display name."""
    workspace.name = clean_name(name)
    workspace.save(update_fields=["name"])
    return workspace


@transaction.atomic
def member_add(*, workspace: Workspace, username_or_email: str, role: Role) -> Membership:
    """Add an existing account to the workspace, found by username or email address."""
    identifier = username_or_email.strip()
    users = get_user_model().objects.filter(
        Q(username__iexact=identifier) | Q(email__iexact=identifier)
    )
    user = users.first() if identifier else None
    if user is None:
        raise ValidationError({"user": f"No account with the username or email {identifier!r}."})
    if workspace.memberships.filter(user=user).exists():
        raise ValidationError({"user": f"{user.get_username()} is already a member."})
    return Membership.objects.create(workspace=workspace, user=user, role=Role(role))


def _ensure_an_owner_remains(membership: Membership) -> None:
    others = membership.workspace.memberships.exclude(pk=membership.pk)
    if membership.role == Role.OWNER and not others.filter(role=Role.OWNER).exists():
        raise ValidationError({"role": "A workspace needs at least one owner."})


@transaction.atomic
def member_change_role(*, membership: Membership, role: Role) -> Membership:
    """Change a member's role, keeping at least one owner in the workspace."""
    if role != Role.OWNER:
        _ensure_an_owner_remains(membership)
    membership.role = Role(role)
    membership.save(update_fields=["role"])
    return membership


@transaction.atomic
def member_remove(*, membership: Membership) -> None:
    """Remove a member, keeping at least one owner in the workspace."""
    _ensure_an_owner_remains(membership)
    membership.delete()
