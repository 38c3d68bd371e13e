"""Background jobs of the knowledge bases (Huey)."""

from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from knowledge.ingest import document_ingest
from knowledge.models import Document
from knowledge.services import document_refresh, documents_due


@db_task()
def kb_ingest(document_id: int) -> None:
    """Read one document into chunks (see ``document_ingest``)."""
    document_ingest(document_id)


@db_periodic_task(crontab(minute="*/5"))
def kb_refresh_due() -> None:
    """Fetch again the web pages whose refresh interval has passed."""
    for document in Document.objects.filter(pk__in=documents_due()):
        document_refresh(document)
