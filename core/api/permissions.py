from __future__ import annotations

from typing import Any

from rest_framework import permissions
from rest_framework.request import Request
from rest_framework.views import APIView

from core.models import can_edit, can_manage


class WorkspaceRole(permissions.IsAuthenticated):
    """Members read; editors change assistants; owners change the workspace and its members.

    Objects reach here already scoped to the member's workspaces and annotated with
    ``member_role``, so non-members got their 404 before this runs.
    """

    message = "Your role in this workspace does not allow this change."

    def has_object_permission(self, request: Request, view: APIView, obj: Any) -> bool:
        if request.method in permissions.SAFE_METHODS:
            return True
        check = can_manage if getattr(view, "requires_owner", False) else can_edit
        return check(obj.member_role)
