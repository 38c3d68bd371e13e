"""Uploading, reading, replacing and deleting documents; each failure stays with its document."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from knowledge.models import Document, DocumentStatus
from knowledge.search import kb_search
from knowledge.services import (
    document_delete,
    document_link,
    document_upload,
    knowledge_base_update,
)
from tests.knowledge.conftest import encrypted_pdf_bytes, pdf_bytes

WARRANTY = b"# Warranty\n\nThe Brightwave T2 thermostat has a 3-year limited warranty.\n"
SHIPPING = b"# Shipping\n\nStandard delivery takes 3 to 5 working days and is free over 50 euros.\n"


def texts(kb, question: str) -> list[str]:
    kb.refresh_from_db()
    return [passage.text for passage in kb_search(kb, question, k=5).passages]


def test_an_uploaded_document_is_read_into_chunks_and_found(kb):
    document = document_upload(kb, name="warranty.md", data=WARRANTY, tags=["Policies"])

    document.refresh_from_db()
    assert document.status == DocumentStatus.READY
    assert document.chunk_count == 1
    assert document.title == "Warranty"
    assert document.tags == ["policies"]
    assert "3-year limited warranty" in texts(kb, "how long is the guarantee")[0]


def test_a_changed_upload_replaces_its_chunks_and_an_unchanged_one_is_not_read_again(kb):
    document_upload(kb, name="warranty.md", data=WARRANTY)
    first = Document.objects.get(name="warranty.md")

    document_upload(kb, name="warranty.md", data=WARRANTY)
    assert Document.objects.get(pk=first.pk).stamp == first.stamp  # unchanged: nothing re-read

    document_upload(kb, name="warranty.md", data=WARRANTY.replace(b"3-year", b"5-year"))
    found = texts(kb, "warranty length")
    assert any("5-year" in text for text in found)
    assert not any("3-year" in text for text in found)
    assert kb.chunks.count() == 1


def test_deleting_a_document_removes_its_passages(kb):
    document_upload(kb, name="warranty.md", data=WARRANTY)
    document_upload(kb, name="shipping.md", data=SHIPPING)
    assert any("warranty" in t for t in texts(kb, "warranty"))

    document_delete(Document.objects.get(name="warranty.md"))

    assert all("warranty" not in t for t in texts(kb, "warranty"))
    assert kb.chunks.count() == 1


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        (
            "manual.pdf",
            pdf_bytes("Huge manual", padding=20_000_000),
            "is 20.0 MB; the limit is 10 MB",
        ),
        ("empty.txt", b"", "is empty"),
        ("deck.pptx", b"slides", "not a supported type"),
    ],
)
def test_uploads_over_the_limits_are_refused_at_once(kb, name, data, message):
    document_upload(kb, name="shipping.md", data=SHIPPING)

    with pytest.raises(ValidationError, match=message):
        document_upload(kb, name=name, data=data)

    assert list(kb.documents.values_list("name", flat=True)) == ["shipping.md"]
    assert texts(kb, "delivery time")


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("locked.pdf", encrypted_pdf_bytes("The vault code is 1234."), "password-protected"),
        ("photo.txt", b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(range(256)) * 40, "not text"),
    ],
)
def test_a_document_that_cannot_be_read_fails_alone(kb, name, data, message):
    document_upload(kb, name="shipping.md", data=SHIPPING)

    broken = document_upload(kb, name=name, data=data)

    broken.refresh_from_db()
    assert broken.status == DocumentStatus.FAILED
    assert message in broken.error
    assert broken.chunk_count == 0
    assert any("Standard delivery" in t for t in texts(kb, "how long does delivery take"))


def test_a_broken_new_version_keeps_the_previous_one_searchable(kb):
    document_upload(kb, name="notes.txt", data=b"The office cat is called Biscuit.")

    document_upload(kb, name="notes.txt", data=b"\x00\x01\x02 binary now" * 100)

    document = Document.objects.get(name="notes.txt")
    assert document.status == DocumentStatus.FAILED
    assert "previous version stays searchable" in document.error
    assert any("Biscuit" in t for t in texts(kb, "name of the cat"))


def test_a_web_page_is_fetched_and_read(kb, site):
    site.pages["/hours"] = (
        200,
        "text/html; charset=utf-8",
        b"<title>Hours</title><h1>Opening hours</h1><p>The Leeds store opens at 9am.</p>",
    )

    document = document_link(kb, url=site.url("/hours"), refresh_hours=24)

    document.refresh_from_db()
    assert document.status == DocumentStatus.READY, document.error
    assert document.format == "html"
    assert document.title == "Hours"
    assert document.fetched_at is not None
    assert any("9am" in t for t in texts(kb, "when does the shop open"))


def test_an_unreachable_or_missing_page_fails_with_the_reason(kb, site):
    document_upload(kb, name="shipping.md", data=SHIPPING)
    port = site.server.server_address[1]
    site.server.shutdown()
    site.server.server_close()

    gone = document_link(kb, url=f"http://127.0.0.1:{port}/page")

    gone.refresh_from_db()
    assert gone.status == DocumentStatus.FAILED
    assert "cannot be reached" in gone.error
    assert texts(kb, "delivery")


def test_a_page_that_answers_404_fails_with_the_status(kb, site):
    missing = document_link(kb, url=site.url("/nope"))

    missing.refresh_from_db()
    assert missing.error == f"Could not fetch {site.url('/nope')}: the server answered 404."


def test_addresses_on_the_servers_own_network_are_refused_by_default(kb, settings):
    settings.KB_FETCH_PRIVATE_HOSTS = False

    document = document_link(kb, url="http://127.0.0.1:9/admin")

    document.refresh_from_db()
    assert document.status == DocumentStatus.FAILED
    assert "inside this server's network" in document.error


def test_tags_filter_the_search(kb):
    document_upload(kb, name="warranty.md", data=WARRANTY, tags=["policies"])
    document_upload(kb, name="shipping.md", data=SHIPPING, tags=["delivery"])

    passages = kb_search(kb, "how long", k=5, tags=["delivery"]).passages

    assert [p.document_name for p in passages] == ["shipping.md"]


def test_a_new_chunk_size_reads_every_document_again(kb):
    long_text = "# Guide\n\n" + " ".join(f"Sentence number {i} about the guide." for i in range(80))
    document_upload(kb, name="guide.md", data=long_text.encode())
    before = kb.chunks.count()

    knowledge_base_update(kb, chunk_tokens=64, overlap_tokens=0)

    assert kb.chunks.count() > before
    assert max(kb.chunks.values_list("tokens", flat=True)) <= 64


def test_the_search_index_reloads_only_the_documents_that_changed(kb):
    from knowledge.search import search_index

    document_upload(kb, name="warranty.md", data=WARRANTY)
    kb.refresh_from_db()
    before = search_index(kb)

    document_upload(kb, name="shipping.md", data=SHIPPING)
    kb.refresh_from_db()
    after = search_index(kb)

    warranty = Document.objects.get(name="warranty.md").pk
    assert after.revision > before.revision
    assert after.documents[warranty] is before.documents[warranty]  # kept, not read again
    assert len(after.rows) == 2


def test_web_pages_due_for_a_refresh_are_fetched_again(kb, site):
    from datetime import timedelta

    from django.utils import timezone

    from knowledge.tasks import kb_refresh_due

    site.pages["/news"] = (200, "text/plain", b"Version one of the news.")
    document = document_link(kb, url=site.url("/news"), refresh_hours=1)
    site.pages["/news"] = (200, "text/plain", b"Version two of the news.")

    kb_refresh_due.call_local()  # not due yet
    assert any("Version one" in t for t in texts(kb, "news"))

    Document.objects.filter(pk=document.pk).update(fetched_at=timezone.now() - timedelta(hours=2))
    kb_refresh_due.call_local()

    found = texts(kb, "news")
    assert any("Version two" in t for t in found)
    assert not any("Version one" in t for t in found)


def test_a_block_longer_than_the_encoder_input_is_cut_to_the_chunk_size(kb):
    run_on = " ".join(f"word{i}" for i in range(1500))  # one "sentence" of thousands of tokens
    document_upload(kb, name="dump.txt", data=run_on.encode())

    tokens = list(kb.chunks.values_list("tokens", flat=True))
    assert len(tokens) > 10
    assert max(tokens) <= kb.chunk_tokens
