"""Lookups that scope every page to the requesting member's workspaces.

A row of another workspace is indistinguishable from a row that does not exist (404); a member
whose role does not allow a change gets 403.
"""

from __future__ import annotations

from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from django.shortcuts import get_object_or_404

from core.models import Assistant, Workspace, can_edit, can_manage


class AuthenticatedRequest(HttpRequest):
    """A request that passed ``login_required``: its user is a real account."""

    user: User


def member_workspace(
    request: AuthenticatedRequest, pk: int, *, edit: bool = False, manage: bool = False
) -> Workspace:
    workspace = get_object_or_404(Workspace.objects.for_member(request.user), pk=pk)
    if manage and not can_manage(workspace.member_role):
        raise PermissionDenied("Only owners can do this.")
    if edit and not can_edit(workspace.member_role):
        raise PermissionDenied("Viewers cannot change anything in this workspace.")
    return workspace


def member_assistant(request: AuthenticatedRequest, pk: int, *, edit: bool = False) -> Assistant:
    assistant = get_object_or_404(Assistant.objects.for_member(request.user), pk=pk)
    if edit and not can_edit(assistant.member_role):
        raise PermissionDenied("Viewers cannot change assistants.")
    return assistant
