"""The knowledge base over REST: upload, list, query, tune; other workspaces see nothing."""

from __future__ import annotations

from django.core.files.uploadedfile import SimpleUploadedFile

from knowledge.models import Document, DocumentStatus
from tests.knowledge.conftest import encrypted_pdf_bytes

GUIDE = b"# Sweep S5\n\n## Charging\n\nA full charge of the Sweep S5 takes 4 hours on the dock.\n"


def upload(api, assistant, name, data, **extra):
    return api.post(
        f"/api/assistants/{assistant.pk}/knowledge/documents/",
        {"file": SimpleUploadedFile(name, data), **extra},
        format="multipart",
    )


def test_an_editor_uploads_a_file_and_asks_for_passages(kb, assistant, editor, api_for):
    api = api_for(editor)

    created = upload(api, assistant, "sweep.md", GUIDE, tags=["vacuum", "manuals"])

    assert created.status_code == 202, created.json()
    assert created.json()["tags"] == ["manuals", "vacuum"]
    listed = api.get(f"/api/assistants/{assistant.pk}/knowledge/documents/").json()
    assert [(d["name"], d["status"], d["chunk_count"]) for d in listed] == [
        ("sweep.md", "ready", 1)
    ]
    found = api.post(
        f"/api/assistants/{assistant.pk}/knowledge/query/",
        {"question": "how long to charge the robot", "mode": "retrieve"},
        format="json",
    ).json()
    (passage,) = found["passages"]
    assert passage["document_name"] == "sweep.md"
    assert passage["heading"] == "Sweep S5 › Charging"
    assert passage["passes_threshold"] is True
    chunks = api.get(f"/api/knowledge/documents/{created.json()['id']}/chunks/").json()
    assert chunks[0]["text"].startswith("A full charge")


def test_bad_uploads_get_a_clear_400_or_a_failed_document(kb, assistant, editor, api_for):
    api = api_for(editor)
    upload(api, assistant, "sweep.md", GUIDE)

    empty = upload(api, assistant, "empty.txt", b"")
    unsupported = upload(api, assistant, "deck.key", b"slides")
    neither = api.post(f"/api/assistants/{assistant.pk}/knowledge/documents/", {}, format="json")
    locked = upload(api, assistant, "locked.pdf", encrypted_pdf_bytes("secret"))

    assert empty.status_code == 400
    assert "empty" in str(empty.json())
    assert unsupported.status_code == 400
    assert "not a supported type" in str(unsupported.json())
    assert neither.status_code == 400
    assert "either a file or a url" in str(neither.json())
    assert locked.status_code == 202
    document = Document.objects.get(name="locked.pdf")
    assert document.status == DocumentStatus.FAILED
    assert "password" in document.error
    assert Document.objects.get(name="sweep.md").status == DocumentStatus.READY


def test_settings_are_validated_and_saved(kb, assistant, editor, api_for):
    api = api_for(editor)
    url = f"/api/assistants/{assistant.pk}/knowledge/"

    bad = api.patch(url, {"top_k": 0, "fusion": "magic"}, format="json")
    good = api.patch(url, {"top_k": 5, "min_score": 0.5, "fusion": "weighted"}, format="json")

    assert bad.status_code == 400
    assert set(bad.json()) == {"top_k", "fusion"}
    assert good.status_code == 200
    assert (good.json()["top_k"], good.json()["min_score"], good.json()["fusion"]) == (
        5,
        0.5,
        "weighted",
    )


def test_a_viewer_reads_but_cannot_change(kb, assistant, editor, viewer, api_for):
    created = upload(api_for(editor), assistant, "sweep.md", GUIDE).json()
    api = api_for(viewer)

    assert api.get(f"/api/assistants/{assistant.pk}/knowledge/documents/").status_code == 200
    assert upload(api, assistant, "more.md", GUIDE).status_code == 403
    assert api.delete(f"/api/knowledge/documents/{created['id']}/").status_code == 403
    assert Document.objects.filter(pk=created["id"]).exists()


def test_another_workspace_cannot_see_list_query_or_delete(
    kb, assistant, editor, outsider, api_for
):
    created = upload(api_for(editor), assistant, "sweep.md", GUIDE).json()
    api = api_for(outsider)
    base = f"/api/assistants/{assistant.pk}/knowledge"

    assert api.get(f"{base}/").status_code == 404
    assert api.get(f"{base}/documents/").status_code == 404
    assert upload(api, assistant, "x.md", GUIDE).status_code == 404
    assert api.post(f"{base}/query/", {"question": "charge"}, format="json").status_code == 404
    for path in ("", "chunks/"):
        assert api.get(f"/api/knowledge/documents/{created['id']}/{path}").status_code == 404
    assert api.delete(f"/api/knowledge/documents/{created['id']}/").status_code == 404
    assert api.post(f"/api/knowledge/documents/{created['id']}/refresh/").status_code == 404
    assert Document.objects.filter(pk=created["id"]).exists()


def test_deleting_a_document_through_the_api(kb, assistant, editor, api_for):
    api = api_for(editor)
    created = upload(api, assistant, "sweep.md", GUIDE).json()

    assert api.delete(f"/api/knowledge/documents/{created['id']}/").status_code == 204
    found = api.post(
        f"/api/assistants/{assistant.pk}/knowledge/query/",
        {"question": "charge", "mode": "retrieve"},
        format="json",
    ).json()
    assert found["passages"] == []
