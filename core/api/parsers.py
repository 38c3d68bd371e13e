"""The API's request parsers: DRF's, refusing text with NUL characters.

PostgreSQL stores no NUL (``\\u0000``) in text or JSON columns, nor compares with one; no field of
the API needs one. Refused where the body is read, every view answers 400 instead of failing in
the database.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.http import QueryDict
from rest_framework import parsers
from rest_framework.exceptions import ParseError

NUL_REFUSED = "Text may not contain NUL (\\u0000) characters."


def has_nul(data: Any) -> bool:
    """Whether any text in parsed JSON or form data (keys included) holds a NUL character."""
    pending = [data]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return True
        elif isinstance(item, QueryDict):
            pending.extend(item.keys())
            pending.extend(value for _, values in item.lists() for value in values)
        elif isinstance(item, Mapping):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return False


def refuse_nul(data: Any) -> Any:
    if has_nul(data):
        raise ParseError(NUL_REFUSED)
    return data


class JSONParser(parsers.JSONParser):
    def parse(self, *args: Any, **kwargs: Any) -> Any:
        return refuse_nul(super().parse(*args, **kwargs))


class FormParser(parsers.FormParser):
    def parse(self, *args: Any, **kwargs: Any) -> Any:
        return refuse_nul(super().parse(*args, **kwargs))


class MultiPartParser(parsers.MultiPartParser):
    """Form fields and the uploads' names are checked; the uploads' bytes are not text."""

    def parse(self, *args: Any, **kwargs: Any) -> Any:
        parsed = super().parse(*args, **kwargs)
        refuse_nul(parsed.data)
        refuse_nul([upload.name or "" for _, uploads in parsed.files.lists() for upload in uploads])
        return parsed
