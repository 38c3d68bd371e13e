"""Who is asking, and narrowing rows to what the request names; shared by the API's views."""

from __future__ import annotations

from typing import Any, cast

from django.contrib.auth.models import User
from django.db.models import QuerySet
from rest_framework.request import Request


def request_user(request: Request) -> User:
    """The caller; every endpoint of the API requires authentication."""
    return cast(User, request.user)


def of_assistant(request: Request, rows: QuerySet[Any]) -> QuerySet[Any]:
    """Rows narrowed to ``?assistant=ID`` when the query asks for one."""
    assistant = request.query_params.get("assistant")
    if assistant is not None:
        rows = rows.filter(assistant_id=assistant if assistant.isdigit() else 0)
    return rows
