"""The knowledge-base pages: members read, editors change, other workspaces see nothing."""

from __future__ import annotations

from django.core.files.uploadedfile import SimpleUploadedFile

from knowledge.models import Document, DocumentStatus
from knowledge.services import document_upload

GUIDE = b"# Sweep S5\n\n## Charging\n\nA full charge takes 4 hours on the dock.\n"


def test_an_editor_uploads_several_files_and_each_gets_its_own_outcome(kb, client_for, editor):
    response = client_for(editor).post(
        f"/assistants/{kb.assistant_id}/knowledge/",
        {
            "action": "upload",
            "tags": "manuals, robots",
            "files": [
                SimpleUploadedFile("guide.md", GUIDE),
                SimpleUploadedFile("empty.txt", b""),
                SimpleUploadedFile("slides.pptx", b"x"),
            ],
        },
        follow=True,
    )

    page = response.content.decode()
    assert "“guide.md” uploaded; reading it …" in page
    assert "“empty.txt” is empty." in page
    assert "“slides.pptx” is not a supported type" in page
    guide = Document.objects.get()
    assert (guide.name, guide.status, guide.tags) == (
        "guide.md",
        DocumentStatus.READY,
        ["manuals", "robots"],
    )


def test_a_viewer_reads_but_cannot_upload_or_delete(kb, client_for, viewer):
    document = document_upload(kb, name="guide.md", data=GUIDE)
    client = client_for(viewer)

    assert client.get(f"/assistants/{kb.assistant_id}/knowledge/").status_code == 200
    assert client.get(f"/knowledge/documents/{document.pk}/").status_code == 200
    refused = client.post(
        f"/assistants/{kb.assistant_id}/knowledge/", {"action": "delete", "document": document.pk}
    )
    assert refused.status_code == 403
    assert Document.objects.filter(pk=document.pk).exists()


def test_another_workspace_gets_404_for_the_page_and_the_document(kb, client_for, outsider):
    document = document_upload(kb, name="guide.md", data=GUIDE)
    client = client_for(outsider)

    assert client.get(f"/assistants/{kb.assistant_id}/knowledge/").status_code == 404
    assert client.get(f"/knowledge/documents/{document.pk}/").status_code == 404
    deleting = client.post(
        f"/assistants/{kb.assistant_id}/knowledge/", {"action": "delete", "document": document.pk}
    )
    assert deleting.status_code == 404
    assert Document.objects.filter(pk=document.pk).exists()


def test_settings_are_saved_from_the_page_and_a_new_chunk_size_rereads(kb, client_for, editor):
    document_upload(kb, name="guide.md", data=GUIDE)
    stamp = Document.objects.get().stamp

    client_for(editor).post(
        f"/assistants/{kb.assistant_id}/knowledge/",
        {
            "action": "settings",
            "top_k": 4,
            "min_score": 0.4,
            "fusion": "rrf",
            "chunk_tokens": 100,
            "overlap_tokens": 10,
        },
    )

    kb.refresh_from_db()
    assert (kb.top_k, kb.min_score, kb.fusion, kb.chunk_tokens) == (4, 0.4, "rrf", 100)
    assert Document.objects.get().stamp > stamp
