"""A knowledge base in an assistant's export, and back in from one.

The export names the settings and every document; an uploaded document's file travels beside
the JSON (``documents/<name>`` in the assistant's zip archive), a linked page is named by its
URL. An import goes through the same services as a creator's upload or link,
so each document is read (or fetched) and indexed in the background once the import commits;
chunks and their vectors are never copied.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from django.core.exceptions import ValidationError

from core.models import Assistant
from knowledge.models import Document, KnowledgeBase
from knowledge.services import (
    SETTINGS_FIELDS,
    document_link,
    document_upload,
    knowledge_base_of,
    knowledge_base_update,
)

DOCUMENTS_FOLDER = "documents/"


def document_path(name: str) -> str:
    """Where an uploaded document's file is in an export archive."""
    return f"{DOCUMENTS_FOLDER}{name}"


def knowledge_export(assistant: Assistant) -> dict[str, Any] | None:
    """The assistant's knowledge base as JSON: its settings and its documents (an uploaded one
    names its file in the archive, a linked one its URL); None when it has none."""
    kb = KnowledgeBase.objects.filter(assistant=assistant).first()
    if kb is None:
        return None
    documents = kb.documents.order_by("name", "id").only(
        "name", "url", "refresh_hours", "tags", "knowledge_base_id"
    )
    return {
        "settings": {name: getattr(kb, name) for name in SETTINGS_FIELDS},
        "documents": [
            {
                "name": document.name,
                "url": document.url,
                "refresh_hours": document.refresh_hours,
                "tags": document.tags,
                "file": None if document.url else document_path(document.name),
            }
            for document in documents
        ],
    }


def knowledge_files(assistant: Assistant) -> Iterator[tuple[str, bytes]]:
    """Each uploaded document's original bytes with its path in the archive, read one at a time."""
    uploaded = Document.objects.filter(knowledge_base__assistant=assistant, url="")
    rows = uploaded.order_by("name", "id").values_list("name", "content")
    for name, content in rows.iterator(chunk_size=1):
        if content:
            yield document_path(name), bytes(content)


def knowledge_base_import(*, assistant: Assistant, settings: Any) -> KnowledgeBase:
    """Give the assistant a knowledge base with these exported settings (before any document is
    added, so documents are chunked as they were)."""
    if not isinstance(settings, dict):
        raise ValidationError("The settings are not a JSON object.")
    kb = knowledge_base_of(assistant)
    return knowledge_base_update(kb, **settings)


def document_import(kb: KnowledgeBase, entry: Any, files: Mapping[str, bytes] | None) -> str | None:
    """Add one exported document through the normal upload (or link) path, so it is read and
    indexed once the import commits.

    Returns why the document did not come along (its file missing from the archive, or refused
    by this installation, for one), or None when it did. A malformed entry raises
    ``ValidationError``.
    """
    if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
        raise ValidationError("A document is a JSON object with a name.")
    name, tags, hours = entry["name"], entry.get("tags") or [], entry.get("refresh_hours")
    if not isinstance(tags, list):
        raise ValidationError("A document's tags are a list.")
    if hours is not None and not isinstance(hours, int):
        raise ValidationError("A document's refresh_hours is a whole number or null.")
    try:
        if entry.get("url"):
            document_link(kb, url=str(entry["url"]), refresh_hours=hours, tags=tags)
            return None
        data = _file_of(entry, files)
        if data is None:
            where = "the archive" if files is not None else "a JSON export (import the .zip)"
            return f"document “{name}”: its file is not in {where}"
        document_upload(kb, name=name, data=data, tags=tags)
    except ValidationError as error:
        return f"document “{name}”: {' '.join(error.messages)}"
    return None


def _file_of(entry: dict[str, Any], files: Mapping[str, bytes] | None) -> bytes | None:
    path = entry.get("file")
    if files is None or not isinstance(path, str):
        return None
    return files.get(path)
