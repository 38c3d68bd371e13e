"""Who is asking, and narrowing rows to what the request names; shared by the API's views.

A row of another workspace is indistinguishable from one that does not exist (404); a member whose
role does not allow a change gets 403.
"""

from __future__ import annotations

from typing import Any, cast

from django.contrib.auth.models import User
from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.request import Request

from core.api.parsers import NUL_REFUSED
from core.models import Assistant, can_edit

MAX_ID = 2**63 - 1  # ids are 64-bit in every database


def request_user(request: Request) -> User:
    """The caller; every endpoint of the API requires authentication."""
    return cast(User, request.user)


def query_id(value: str) -> int:
    """An id given in the query, or 0 (no row's) when it is not a number a row's id can be."""
    return int(value) if value.isdecimal() and len(value) < 20 and int(value) <= MAX_ID else 0


def of_assistant(request: Request, rows: QuerySet[Any]) -> QuerySet[Any]:
    """Rows narrowed to ``?assistant=ID`` when the query asks for one."""
    assistant = request.query_params.get("assistant")
    if assistant is not None:
        rows = rows.filter(assistant_id=query_id(assistant))
    return rows


def query_text(request: Request, name: str) -> str:
    """A text parameter of the query ("" when absent); NUL characters are refused (400)."""
    value = request.query_params.get(name, "")
    if "\x00" in value:
        raise ValidationError({name: [NUL_REFUSED]})
    return value


def editable(row: Any) -> Any:
    """``row`` (an assistant, or a row annotated by ``member_rows``) if the caller may change it."""
    if not can_edit(row.member_role):
        raise PermissionDenied("Viewers cannot change this assistant.")
    return row


def member_assistant(request: Request, pk: int, *, edit: bool = False) -> Assistant:
    """The caller's assistant ``pk``; with ``edit``, only if the caller's role may change it."""
    assistant = get_object_or_404(Assistant.objects.for_member(request_user(request)), pk=pk)
    return cast(Assistant, editable(assistant)) if edit else assistant
