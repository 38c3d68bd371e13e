"""Failures of what the product stands on, answered plainly: a database that dropped the
connection or is out of space, a disk that is full. The request fails with a status that says
which (503: try again; 507: out of storage) and a sentence a person can act on; whatever the
request was saving is rolled back with its transaction, so nothing half-saved remains."""

from __future__ import annotations

import errno
import logging
from collections.abc import Callable

from django.db import DatabaseError, InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse

logger = logging.getLogger(__name__)

UNAVAILABLE = "The database is unavailable for a moment; nothing was saved. Try again shortly."
FULL = "The server is out of storage space, so nothing was saved. Tell its administrator."


def _storage_full(error: BaseException) -> bool:
    if isinstance(error, OSError) and error.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
        return True
    text = str(error).lower()
    # SQLite: "database or disk is full"; PostgreSQL: "could not extend file", "No space left".
    return isinstance(error, DatabaseError) and (
        "disk is full" in text or "no space left" in text or "could not extend file" in text
    )


class ServiceFailures:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, error: Exception) -> HttpResponse | None:
        if _storage_full(error):
            status, message = 507, FULL
        elif isinstance(error, (OperationalError, InterfaceError)):
            status, message = 503, UNAVAILABLE
        else:
            return None  # a bug: Django's 500 and the error log
        logger.error("%s %s failed: %s", request.method, request.path, error)
        if request.path.startswith("/api/") or "json" in request.headers.get("Accept", ""):
            response: HttpResponse = JsonResponse({"detail": message}, status=status)
        else:
            response = HttpResponse(
                f"<!doctype html><title>{status}</title><h1>Sorry</h1><p>{message}</p>",
                status=status,
            )
        if status == 503:
            response["Retry-After"] = "5"
        return response
