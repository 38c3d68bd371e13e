"""Reading a document into chunks, in the background: fetch (for a URL), parse, chunk, embed, store.

Each reading is a job (``DocumentReading``, run by ``core.jobs.job_execute``); the document shows
where its latest reading is. A document's new chunks replace its old ones in one transaction, so
a question never meets half a document; a document that fails keeps whatever chunks it had (a
broken re-upload does not empty the knowledge base) and says why in ``error``. Every step
reports progress to the page.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from functools import cache
from urllib.parse import urlsplit

import httpx
import numpy as np
from django.conf import settings
from django.db import transaction
from django.db.models import F, QuerySet
from django.utils import timezone
from tokenizers import Tokenizer

from core.events import assistant_event_send
from core.jobs import job_execute
from core.models import JobStatus
from core.outbound import OutboundRefused, outbound_check
from knowledge.chunking import Piece, chunk, indexed_text
from knowledge.models import Chunk, Document, DocumentReading, DocumentStatus, KnowledgeBase
from knowledge.parsing import Parsed, Unreadable, document_format, parse
from nlu.encoder import Encoder
from nlu.progress import Progress
from nlu.store import encoder_load

EMBED_BATCH = 64
PREVIOUS_KEPT = " The previous version stays searchable."
SUPERSEDED = "The document was deleted, or queued to be read again, while this reading ran."
_FETCH_FORMATS = {
    "text/html": "html",
    "application/xhtml+xml": "html",
    "text/plain": "text",
    "text/markdown": "markdown",
    "text/csv": "csv",
    "application/pdf": "pdf",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "docx",
}


def content_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def pieces_of(parsed: Parsed, encoder: Encoder, *, size: int, overlap: int) -> list[Piece]:
    counter = _counter(encoder)

    def count(texts: Sequence[str]) -> list[int]:
        """Encoder tokens of each text, without [CLS] and [SEP]."""
        if not texts:
            return []
        return [len(e.ids) - 2 for e in counter.encode_batch(list(texts))]

    return chunk(parsed, count, size=size, overlap=overlap)


@cache
def _counter(encoder: Encoder) -> Tokenizer:
    """The encoder's tokenizer without its cut at 256 tokens, so long texts count in full."""
    tokenizer = Tokenizer.from_str(encoder.tokenizer.to_str())
    tokenizer.no_truncation()
    return tokenizer


def document_ingest(reading_id: int) -> DocumentReading | None:
    """Do a queued reading of a document (the task's body, through ``core.jobs.job_execute``):
    a document that cannot be read (``Unreadable``, a ``ValueError``) fails the reading with the
    reason, a crash fails it too, and its document shows the reading's end. Returns the reading,
    or None when it was deleted with its document."""
    try:
        return job_execute(
            DocumentReading,
            reading_id,
            _read,
            announce=_reading_announce,
            related=["document__knowledge_base"],
        )
    except DocumentReading.DoesNotExist:
        if DocumentReading.objects.filter(pk=reading_id).exists():
            raise
        return None


def _read(reading: DocumentReading, progress: Progress) -> None:
    """Fetch (a URL), parse, chunk and embed the reading's document, and store its chunks."""
    if not _latest(reading).exists():
        raise ValueError(SUPERSEDED)
    document = reading.document
    progress("reading", 0.0)
    if document.url:
        _fetch(document)
        progress("fetched", 0.1)
    parsed = parse(document.name, bytes(document.content), document.format)
    encoder = encoder_load()
    kb = document.knowledge_base
    pieces = pieces_of(parsed, encoder, size=kb.chunk_tokens, overlap=kb.overlap_tokens)
    progress("embedding", 0.2)
    texts = [indexed_text(parsed.title, piece.heading, piece.text) for piece in pieces]
    vectors = np.zeros((len(texts), encoder.dimensions), dtype=np.float32)
    for start in range(0, len(texts), EMBED_BATCH):
        vectors[start : start + EMBED_BATCH] = encoder.embed(texts[start : start + EMBED_BATCH])
        progress("embedding", 0.2 + 0.75 * (start + EMBED_BATCH) / max(1, len(texts)))
    _store(reading, parsed.title, pieces, vectors)


def _latest(reading: DocumentReading) -> QuerySet[Document]:
    """The reading's document while this is its latest reading: neither deleted nor queued
    again since (an older reading leaves the document to the newer one)."""
    return Document.objects.filter(pk=reading.document_id).exclude(readings__pk__gt=reading.pk)


def _store(reading: DocumentReading, title: str, pieces: list[Piece], vectors: np.ndarray) -> None:
    document = reading.document
    with transaction.atomic():
        # Locked first, then asked (a new reading is queued under the same lock, see _queue).
        locked = Document.objects.select_for_update().filter(pk=document.pk).exists()
        if not locked or not _latest(reading).exists():
            raise ValueError(SUPERSEDED)
        document.chunks.all().delete()
        Chunk.objects.bulk_create(
            Chunk(
                document=document,
                knowledge_base_id=document.knowledge_base_id,
                position=position,
                heading=piece.heading,
                text=piece.text,
                tokens=piece.tokens,
                embedding=vector.astype(np.float32).tobytes(),
            )
            for position, (piece, vector) in enumerate(zip(pieces, vectors, strict=True))
        )
        document.title = title[:300]
        document.status, document.progress, document.error = DocumentStatus.READY, 1.0, ""
        document.chunk_count = len(pieces)
        document.stamp += 1
        document.save(
            update_fields=[
                "title",
                "status",
                "progress",
                "error",
                "chunk_count",
                "stamp",
                "content",
                "content_hash",
                "size",
                "format",
                "fetched_at",
                "updated_at",
            ]
        )
        revision_bump(document.knowledge_base_id)


def revision_bump(kb_id: int) -> None:
    """The knowledge base's chunks changed: every process's search index reloads."""
    KnowledgeBase.objects.filter(pk=kb_id).update(revision=F("revision") + 1)


def _reading_announce(reading: DocumentReading) -> None:
    """The document shows where its latest reading is (processing with its progress, ready, or
    failed with the reason), and everyone watching its assistant sees it; a reading that is no
    longer the document's latest leaves the document alone."""
    document = reading.document
    changes: dict[str, object] = {}
    stage = ""
    if reading.status == JobStatus.RUNNING:
        stage = reading.stage
        changes = {
            "status": DocumentStatus.PROCESSING,
            "progress": min(reading.progress, 1.0),
            "error": "",
        }
    elif reading.status == JobStatus.FAILED:
        error = reading.error + (PREVIOUS_KEPT if document.chunk_count else "")
        changes = {"status": DocumentStatus.FAILED, "progress": 0.0, "error": error}
    elif reading.status == JobStatus.DONE:
        stage = "ready"  # the document was saved with its chunks
    else:
        return
    latest = _latest(reading)
    if changes:
        # updated_at: the document's last sign of life, as it always was
        if not latest.update(**changes, updated_at=timezone.now()):
            return
        for name, value in changes.items():
            setattr(document, name, value)
    elif not latest.exists():
        return
    document_announce(document, stage=stage)


def readings_stopped(readings: QuerySet[DocumentReading]) -> None:
    """The watch failed these readings (their worker stopped): their documents say so."""
    for reading in readings.select_related("document__knowledge_base").defer("document__content"):
        _reading_announce(reading)


def document_announce(document: Document, *, stage: str = "") -> None:
    assistant_event_send(
        assistant_id=document.knowledge_base.assistant_id,
        event="kb.document",
        data={
            "id": document.pk,
            "name": document.name,
            "status": document.status,
            "stage": stage,
            "progress": round(document.progress, 2),
            "error": document.error,
            "chunks": document.chunk_count,
        },
    )


# --- fetching a URL -------------------------------------------------------------------------
def _fetch(document: Document) -> None:
    """Download the document's URL into its content, or raise ``Unreadable`` saying why."""
    limit = settings.KB_MAX_DOCUMENT_BYTES
    url = document.url
    _check_host(url)
    try:
        with (
            httpx.Client(
                timeout=settings.KB_FETCH_TIMEOUT_S, follow_redirects=True, max_redirects=5
            ) as client,
            client.stream("GET", url, headers={"User-Agent": "Parley knowledge base"}) as response,
        ):
            if response.status_code >= 400:
                raise Unreadable(
                    f"Could not fetch {url}: the server answered {response.status_code}."
                )
            _check_host(str(response.url))
            data = bytearray()
            for part in response.iter_bytes():
                data.extend(part)
                if len(data) > limit:
                    raise Unreadable(f"The page at {url} is larger than {limit // 1_000_000} MB.")
            kind = response.headers.get("content-type", "").split(";")[0].strip().lower()
    except httpx.HTTPError as error:
        raise Unreadable(f"Could not fetch {url}: {_reason(error)}.") from error
    document.format = _FETCH_FORMATS.get(kind) or document_format(urlsplit(url).path) or "html"
    document.content = bytes(data)
    document.content_hash = content_hash(document.content)
    document.size = len(data)
    document.fetched_at = timezone.now()


def _reason(error: httpx.HTTPError) -> str:
    if isinstance(error, httpx.ConnectError):
        return "the server cannot be reached"
    if isinstance(error, httpx.TimeoutException):
        return "the server did not answer in time"
    if isinstance(error, httpx.TooManyRedirects):
        return "too many redirects"
    return type(error).__name__


def _check_host(url: str) -> None:
    """Refuse addresses inside this server's network unless the instance allows them."""
    try:
        outbound_check(url, allow_private=settings.KB_FETCH_PRIVATE_HOSTS)
    except OutboundRefused as refused:
        raise Unreadable(str(refused)) from None
