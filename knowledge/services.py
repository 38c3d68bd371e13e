"""What creators do to a knowledge base: upload or link documents, delete them, tune the search.

Uploads are checked at once (type, size, emptiness) and read in the background; what can only be
found by reading (a damaged or password-protected PDF, binary data in a ``.txt``, an unreachable
URL) marks that one document failed, with the reason, and leaves the others untouched.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import transaction
from django.utils import timezone

from core.events import assistant_event_send
from core.models import Assistant, JobStatus
from core.tasks import job_enqueue
from knowledge.ingest import content_hash, document_announce, revision_bump
from knowledge.models import Document, DocumentReading, DocumentStatus, KnowledgeBase
from knowledge.parsing import FORMATS, document_format

SETTINGS_FIELDS = ("chunk_tokens", "overlap_tokens", "top_k", "min_score", "fusion")
MAX_TAGS = 20
READINGS_KEPT = 10  # a document's ended readings kept when it is read again


def knowledge_base_of(assistant: Assistant) -> KnowledgeBase:
    kb, _ = KnowledgeBase.objects.get_or_create(assistant=assistant)
    kb.assistant = assistant
    return kb


def knowledge_base_update(kb: KnowledgeBase, **changes: Any) -> KnowledgeBase:
    """Change search settings; a new chunk size or overlap re-reads every document."""
    unknown = set(changes) - set(SETTINGS_FIELDS)
    if unknown:
        raise ValidationError(f"Unknown settings: {', '.join(sorted(unknown))}.")
    rechunk = any(
        field in changes and changes[field] != getattr(kb, field)
        for field in ("chunk_tokens", "overlap_tokens")
    )
    for name, value in changes.items():
        setattr(kb, name, value)
    kb.full_clean()
    with transaction.atomic():
        kb.save()
        if rechunk:
            stored = kb.documents.exclude(content=b"").exclude(status=DocumentStatus.QUEUED)
            for document in stored.defer("content"):
                _queue(document)
    return kb


def _tags(tags: Sequence[str] | None) -> list[str]:
    cleaned = sorted({str(tag).strip().lower()[:40] for tag in tags or [] if str(tag).strip()})
    if len(cleaned) > MAX_TAGS:
        raise ValidationError(f"At most {MAX_TAGS} tags per document.")
    return cleaned


def document_upload(
    kb: KnowledgeBase, *, name: str, data: bytes, tags: Sequence[str] | None = None
) -> Document:
    """Add a file, or replace the one of the same name; unchanged content is not read again."""
    name = name.strip().replace("/", "_")[:255]
    kind = document_format(name)
    if not name or kind is None:
        raise ValidationError(
            f"“{name}” is not a supported type; upload one of: {', '.join(sorted(FORMATS))}."
        )
    limit = settings.KB_MAX_DOCUMENT_BYTES
    if len(data) > limit:
        raise ValidationError(
            f"“{name}” is {len(data) / 1_000_000:.1f} MB; the limit is {limit / 1_000_000:g} MB."
        )
    if not data.strip():
        raise ValidationError(f"“{name}” is empty.")
    digest = content_hash(data)
    with transaction.atomic():
        document = Document.objects.select_for_update().filter(knowledge_base=kb, name=name).first()
        if document is None:
            _room_check(kb)
            document = Document(knowledge_base=kb, name=name)
        elif document.content_hash == digest and document.status == DocumentStatus.READY:
            if tags is not None and _tags(tags) != document.tags:
                document.tags = _tags(tags)
                document.save(update_fields=["tags", "updated_at"])
                revision_bump(kb.pk)
            return document
        document.format, document.content, document.content_hash = kind, data, digest
        document.size = len(data)
        if tags is not None:
            document.tags = _tags(tags)
        document.save()
        _queue(document)
    return document


def document_link(
    kb: KnowledgeBase,
    *,
    url: str,
    refresh_hours: int | None = None,
    tags: Sequence[str] | None = None,
) -> Document:
    """Add a web page (fetched now, and again every ``refresh_hours`` when set)."""
    url = url.strip()
    try:
        URLValidator(schemes=["http", "https"])(url)
    except ValidationError:
        raise ValidationError(f"“{url}” is not an http(s) URL.") from None
    if refresh_hours is not None and not 1 <= refresh_hours <= 24 * 365:
        raise ValidationError("Refresh every 1 hour to 365 days, or leave it empty.")
    with transaction.atomic():
        document = Document.objects.select_for_update().filter(knowledge_base=kb, name=url).first()
        if document is None:
            _room_check(kb)
            document = Document(knowledge_base=kb, name=url[:255], url=url)
        document.refresh_hours = refresh_hours
        document.tags = _tags(tags)
        document.save()
        _queue(document)
    return document


def document_refresh(document: Document) -> Document:
    """Read the document again (fetch a URL again)."""
    with transaction.atomic():
        _queue(document)
    return document


def document_delete(document: Document) -> None:
    kb = document.knowledge_base
    with transaction.atomic():
        document.delete()
        revision_bump(kb.pk)
    assistant_event_send(
        assistant_id=kb.assistant_id, event="kb.document", data={"id": None, "deleted": True}
    )


def documents_due() -> list[int]:
    """URL documents whose refresh time has come (the periodic task queues them)."""
    now = timezone.now()
    due = []
    for document in Document.objects.filter(
        refresh_hours__isnull=False, status__in=(DocumentStatus.READY, DocumentStatus.FAILED)
    ).only("id", "refresh_hours", "fetched_at", "updated_at"):
        last = document.fetched_at or document.updated_at
        if last + timedelta(hours=document.refresh_hours or 0) <= now:
            due.append(document.pk)
    return due


def _room_check(kb: KnowledgeBase) -> None:
    if kb.documents.count() >= settings.KB_MAX_DOCUMENTS:
        raise ValidationError(
            f"This knowledge base already has {settings.KB_MAX_DOCUMENTS} documents, the limit."
        )


def _queue(document: Document) -> DocumentReading:
    """Mark the document queued and read it in a new reading once the transaction commits (the
    update locks the document first). A reading still queued or running on it is superseded: it
    stores nothing and leaves the document to the new one."""
    document.status, document.progress, document.error = DocumentStatus.QUEUED, 0.0, ""
    Document.objects.filter(pk=document.pk).update(
        status=DocumentStatus.QUEUED, progress=0.0, error=""
    )
    ended = document.readings.filter(status__in=(JobStatus.DONE, JobStatus.FAILED))
    old = list(ended.order_by("-pk").values_list("pk", flat=True)[READINGS_KEPT:])
    DocumentReading.objects.filter(pk__in=old).delete()  # a page refreshed hourly adds up
    reading = DocumentReading.objects.create(document=document)
    document_announce(document)
    job_enqueue("documents", reading.pk)
    return reading
