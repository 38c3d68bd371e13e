"""The API token endpoint, with the same failed-login limits as the login page."""

from __future__ import annotations

from typing import Any

from rest_framework import status
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.request import Request
from rest_framework.response import Response

from builder.logins import REFUSED, login_refused


class TokenView(ObtainAuthToken):
    """POST username and password for the account's API token."""

    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        username = str(request.data.get("username", ""))
        if login_refused(request._request, username):
            return Response({"detail": REFUSED}, status=status.HTTP_429_TOO_MANY_REQUESTS)
        return super().post(request, *args, **kwargs)
