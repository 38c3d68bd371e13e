"""Periodic work of the knowledge bases (Huey); reading a document is a job (``core.jobs``)."""

from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from knowledge.models import Document
from knowledge.services import document_refresh, documents_due


@db_periodic_task(crontab(minute="*/5"))
def kb_refresh_due() -> None:
    """Fetch again the web pages whose refresh interval has passed."""
    for document in Document.objects.filter(pk__in=documents_due()):
        document_refresh(document)
