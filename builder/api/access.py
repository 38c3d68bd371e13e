"""Who is asking, and narrowing rows to what the request names; shared by the API's views.

A row of another workspace is indistinguishable from one that does not exist (404); a member whose
role does not allow a change gets 403.
"""

from __future__ import annotations

from typing import Any, cast

from django.contrib.auth.models import User
from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from rest_framework.exceptions import PermissionDenied
from rest_framework.request import Request

from builder.models import Assistant, can_edit


def request_user(request: Request) -> User:
    """The caller; every endpoint of the API requires authentication."""
    return cast(User, request.user)


def of_assistant(request: Request, rows: QuerySet[Any]) -> QuerySet[Any]:
    """Rows narrowed to ``?assistant=ID`` when the query asks for one."""
    assistant = request.query_params.get("assistant")
    if assistant is not None:
        rows = rows.filter(assistant_id=assistant if assistant.isdigit() else 0)
    return rows


def editable(row: Any) -> Any:
    """``row`` (an assistant, or a row annotated by ``member_rows``) if the caller may change it."""
    if not can_edit(row.member_role):
        raise PermissionDenied("Viewers cannot change this assistant.")
    return row


def member_assistant(request: Request, pk: int, *, edit: bool = False) -> Assistant:
    """The caller's assistant ``pk``; with ``edit``, only if the caller's role may change it."""
    assistant = get_object_or_404(Assistant.objects.for_member(request_user(request)), pk=pk)
    return cast(Assistant, editable(assistant)) if edit else assistant
