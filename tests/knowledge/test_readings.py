"""Reading a document is a background job (``DocumentReading``, run by ``core.jobs``): however a
reading ends, its document says so, and never stays "processing"."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from core.jobs import STOPPED, jobs_recover
from core.models import JobStatus
from knowledge.ingest import document_ingest
from knowledge.models import Document, DocumentReading, DocumentStatus
from knowledge.search import kb_search
from knowledge.services import document_delete, document_refresh, document_upload

SHIPPING = b"# Shipping\n\nStandard delivery takes 3 to 5 working days and is free over 50 euros.\n"
PHOTO = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(range(256)) * 40


class WorkerKilled(BaseException):
    """What the worker's process sees of a SIGKILL: nothing runs after it."""


def texts(kb, question: str) -> list[str]:
    kb.refresh_from_db()
    return [passage.text for passage in kb_search(kb, question, k=5).passages]


@pytest.fixture
def held(monkeypatch) -> list[int]:
    """Readings queued but not run: their ids, for the test to run them as a worker would."""
    queued: list[int] = []
    monkeypatch.setattr("knowledge.services.job_enqueue", lambda kind, pk: queued.append(pk))
    return queued


def test_each_upload_is_read_in_a_reading_of_its_own(kb):
    document = document_upload(kb, name="shipping.md", data=SHIPPING)
    document_refresh(document)

    readings = list(document.readings.order_by("pk"))
    assert [r.status for r in readings] == [JobStatus.DONE, JobStatus.DONE]
    assert all(r.progress == 1.0 and r.finished_at for r in readings)
    document.refresh_from_db()
    assert (document.status, document.progress, document.error) == (DocumentStatus.READY, 1.0, "")


def test_an_unreadable_file_fails_its_reading_and_its_document_with_the_reason(kb):
    document = document_upload(kb, name="photo.txt", data=PHOTO)

    reading = document.readings.get()
    document.refresh_from_db()
    assert reading.status == JobStatus.FAILED
    assert "not text" in reading.error
    assert document.status == DocumentStatus.FAILED
    assert document.error == reading.error
    assert document.chunk_count == 0


def test_a_crash_mid_reading_fails_the_document_instead_of_leaving_it_processing(kb, monkeypatch):
    document_upload(kb, name="shipping.md", data=SHIPPING)

    def crash(*args, **kwargs):
        raise RuntimeError("the parser fell over")

    monkeypatch.setattr("knowledge.ingest.parse", crash)
    document_upload(kb, name="shipping.md", data=SHIPPING.replace(b"free", b"cheap"))

    document = Document.objects.get(name="shipping.md")
    assert document.status == DocumentStatus.FAILED
    assert "the parser fell over" in document.error
    assert "previous version stays searchable" in document.error
    assert document.readings.latest("pk").status == JobStatus.FAILED  # the latest
    assert any("Standard delivery" in t for t in texts(kb, "how long does delivery take"))


def test_the_watch_fails_a_reading_whose_worker_stopped_and_its_document(kb, held, monkeypatch):
    document = document_upload(kb, name="shipping.md", data=SHIPPING)
    document_ingest(held.pop())  # read once: it has chunks

    def killed(*args, **kwargs):
        raise WorkerKilled

    monkeypatch.setattr("knowledge.ingest.parse", killed)
    document_refresh(document)
    with pytest.raises(WorkerKilled):
        document_ingest(held.pop())
    reading = document.readings.latest("pk")
    document.refresh_from_db()
    assert (reading.status, document.status) == (JobStatus.RUNNING, DocumentStatus.PROCESSING)

    assert jobs_recover(stale_after_s=60)["documents"] == 0  # it beat just now: left alone
    DocumentReading.objects.filter(pk=reading.pk).update(
        heartbeat_at=timezone.now() - timedelta(minutes=10)
    )
    assert jobs_recover(stale_after_s=60)["documents"] == 1

    reading.refresh_from_db()
    document.refresh_from_db()
    assert reading.status == JobStatus.FAILED
    assert reading.error == f"{STOPPED} Refresh the document or upload it again."
    assert document.status == DocumentStatus.FAILED
    assert document.progress == 0.0
    assert document.error.startswith(reading.error)
    assert "previous version stays searchable" in document.error
    assert any("Standard delivery" in t for t in texts(kb, "how long does delivery take"))


def test_a_document_deleted_while_it_is_read_ends_its_reading_quietly(kb, held, monkeypatch):
    from knowledge import ingest

    document = document_upload(kb, name="shipping.md", data=SHIPPING)
    parse = ingest.parse

    def deleted_meanwhile(*args, **kwargs):
        document_delete(Document.objects.get(pk=document.pk))
        return parse(*args, **kwargs)

    monkeypatch.setattr("knowledge.ingest.parse", deleted_meanwhile)

    document_ingest(held.pop())  # raises nothing

    assert not Document.objects.exists()
    assert not DocumentReading.objects.exists()
    assert kb.chunks.count() == 0
    assert document_ingest(12345) is None  # a task whose reading went with its document


def test_a_reading_overtaken_by_a_new_upload_leaves_the_document_to_the_new_one(
    kb, held, monkeypatch
):
    from knowledge import ingest

    document_upload(kb, name="shipping.md", data=SHIPPING)
    first = held.pop()
    parse = ingest.parse

    def uploaded_again_meanwhile(*args, **kwargs):
        monkeypatch.setattr("knowledge.ingest.parse", parse)
        document_upload(kb, name="shipping.md", data=SHIPPING.replace(b"free", b"cheap"))
        return parse(*args, **kwargs)

    monkeypatch.setattr("knowledge.ingest.parse", uploaded_again_meanwhile)

    overtaken = document_ingest(first)

    document = Document.objects.get(name="shipping.md")
    assert overtaken is not None
    assert overtaken.status == JobStatus.FAILED
    assert (document.status, document.chunk_count) == (DocumentStatus.QUEUED, 0)
    assert b"cheap" in bytes(document.content)  # not written back by the old reading

    document_ingest(held.pop())

    document.refresh_from_db()
    assert document.status == DocumentStatus.READY
    assert any("cheap" in t for t in texts(kb, "is delivery free"))


def test_a_document_read_again_and_again_keeps_only_its_latest_readings(kb, monkeypatch):
    monkeypatch.setattr("knowledge.services.READINGS_KEPT", 2)
    document = document_upload(kb, name="shipping.md", data=SHIPPING)
    for _ in range(4):
        document_refresh(document)

    assert document.readings.count() == 3  # two kept when the last one was queued, and it
    assert document.readings.latest("pk").status == JobStatus.DONE
