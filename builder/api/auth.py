"""The API token endpoint, with the same failed-login limits as the login page."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.authtoken.serializers import AuthTokenSerializer
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.request import Request
from rest_framework.response import Response

from builder.logins import REFUSED, login_refused
from core.api.schema import refusal
from core.api.throttles import CallerRateThrottle


class TokenView(ObtainAuthToken):
    """POST username and password for the account's API token."""

    throttle_classes = [CallerRateThrottle]  # DRF's view has none: per address, like the rest

    @extend_schema(
        responses={
            200: AuthTokenSerializer,
            429: refusal("Too many failed logins, or requests, from here: wait a while."),
        }
    )
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = request.data
        username = str(data.get("username", "")) if isinstance(data, Mapping) else ""
        if login_refused(request._request, username):
            return Response({"detail": REFUSED}, status=status.HTTP_429_TOO_MANY_REQUESTS)
        return super().post(request, *args, **kwargs)
