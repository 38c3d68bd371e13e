"""The design pages without a browser: forms save through the services, refusals are shown, and
nobody outside the workspace sees or changes anything."""

from __future__ import annotations

import io
import json
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction

from builder import services
from builder.demo import demo_content_seed
from core.models import Assistant, Prompt

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def pizza(assistant: Assistant) -> Assistant:
    with transaction.atomic():
        demo_content_seed(assistant)
    return assistant


def test_utterances_typed_with_inline_annotations_are_saved_with_their_spans(
    client_for, editor, assistant
):
    services.entity_create(assistant=assistant, name="size", values=[{"value": "large"}])
    client = client_for(editor)

    response = client.post(
        f"/assistants/{assistant.pk}/intents/",
        {"name": "order", "utterances": "a [large](size) pizza\nsome pizza"},
        follow=True,
    )

    intent = assistant.intents.get()
    assert [(u.text, u.entities) for u in intent.utterances.order_by("id")] == [
        ("a large pizza", [{"start": 2, "end": 7, "entity": "size", "value": "large"}]),
        ("some pizza", []),
    ]
    assert "<mark" in response.content.decode()


def test_an_unknown_entity_in_an_annotation_is_shown_and_nothing_is_saved(
    client_for, editor, assistant
):
    response = client_for(editor).post(
        f"/assistants/{assistant.pk}/intents/",
        {"name": "order", "utterances": "a [large](size) pizza"},
    )

    assert "Unknown entity &#x27;size&#x27;" in response.content.decode()
    assert not assistant.intents.exists()


def test_required_entities_are_edited_on_the_intent_page(client_for, editor, pizza):
    intent = pizza.intents.get(name="order_pizza")

    client_for(editor).post(
        f"/intents/{intent.pk}/",
        {"action": "require", "required": "topping: Which pizza would you like?"},
    )

    intent.refresh_from_db()
    assert intent.required_entities == [
        {"entity": "topping", "prompt": "Which pizza would you like?"}
    ]


def test_requiring_an_entity_the_assistant_lacks_says_so_on_the_page(client_for, editor, pizza):
    intent = pizza.intents.get(name="order_pizza")

    response = client_for(editor).post(
        f"/intents/{intent.pk}/", {"action": "require", "required": "crust: Which crust?"}
    )

    assert response.status_code == 200
    assert "crust" in response.content.decode()
    intent.refresh_from_db()
    assert intent.required_entities == []


def test_the_entity_page_says_where_each_entity_is_used(client_for, viewer, pizza):
    page = client_for(viewer).get(f"/assistants/{pizza.pk}/entities/").content.decode()

    assert "intent order_pizza has 2 utterances annotated with it" in page
    assert "flow Main, step ask_size captures it" in page


def test_deleting_an_entity_a_flow_captures_is_refused_on_the_page(client_for, editor, pizza):
    size = pizza.entities.get(name="size")

    response = client_for(editor).post(
        f"/assistants/{pizza.pk}/entities/",
        {"action": "delete", "entity": size.pk},
        follow=True,
    )

    assert response.status_code == 200
    page = response.content.decode()
    assert "flow Main, step ask_size captures it" in page
    assert "deleted" not in page
    assert pizza.entities.filter(pk=size.pk).exists()


def test_deleting_an_unused_entity_on_the_page_deletes_it(client_for, editor, pizza):
    colour = services.entity_create(assistant=pizza, name="colour", values=[{"value": "red"}])

    response = client_for(editor).post(
        f"/assistants/{pizza.pk}/entities/",
        {"action": "delete", "entity": colour.pk},
        follow=True,
    )

    assert "Entity “colour” deleted." in response.content.decode()
    assert not pizza.entities.filter(pk=colour.pk).exists()


def test_deleting_an_intent_a_flow_uses_is_refused_on_the_page(client_for, editor, pizza):
    hours = pizza.intents.get(name="opening_hours")

    response = client_for(editor).post(f"/intents/{hours.pk}/", {"action": "delete"}, follow=True)

    assert response.status_code == 200
    assert "flow Main, global trigger to step hours routes on it" in response.content.decode()
    assert pizza.intents.filter(pk=hours.pk).exists()


def test_deleting_an_intent_no_flow_uses_on_the_page_deletes_it(client_for, editor, pizza):
    refund = services.intent_create(assistant=pizza, name="refund")

    response = client_for(editor).post(f"/intents/{refund.pk}/", {"action": "delete"}, follow=True)

    assert "Intent “refund” deleted." in response.content.decode()
    assert not pizza.intents.filter(pk=refund.pk).exists()


def test_publish_and_roll_back_from_the_overview(client_for, editor, pizza):
    client = client_for(editor)

    first = client.post(f"/assistants/{pizza.pk}/publish/", {"notes": "launch"}, follow=True)
    client.post(f"/assistants/{pizza.pk}/publish/", {"notes": "second"})
    client.post(f"/assistants/{pizza.pk}/versions/1/rollback/")

    assert "Version 1 is live." in first.content.decode()
    pizza.refresh_from_db()
    assert pizza.published_version is not None
    assert pizza.published_version.number == 1
    assert pizza.versions.count() == 2


def test_publishing_an_untrained_draft_says_why(client_for, editor, assistant):
    response = client_for(editor).post(f"/assistants/{assistant.pk}/publish/", follow=True)

    assert "Not published: Add a flow before publishing." in response.content.decode()


def test_an_nlu_file_is_imported_from_the_page_with_its_report(client_for, editor, assistant):
    upload = SimpleUploadedFile("nlu.csv", b"text,intent\nhello,greet\nbye,goodbye\nhello,greet\n")

    page = (
        client_for(editor)
        .post(f"/assistants/{assistant.pk}/nlu-import/", {"file": upload, "kind": "csv"})
        .content.decode()
    )

    assert "2 utterances" in page
    assert "line 4: already there" in page


def test_an_exported_assistant_is_imported_from_the_workspace_page(
    client_for, editor, pizza, workspace
):
    client = client_for(editor)
    exported = client.get(f"/assistants/{pizza.pk}/export/").getvalue()  # its documents: a zip

    response = client.post(
        f"/workspaces/{workspace.pk}/import/",
        {"file": SimpleUploadedFile("a.zip", exported), "name": "Pizza copy"},
        follow=True,
    )
    broken = client.post(
        f"/workspaces/{workspace.pk}/import/",
        {"file": SimpleUploadedFile("a.json", b'{"format": 2,'), "name": "Broken"},
    )

    assert response.status_code == 200
    copy = Assistant.objects.get(name="Pizza copy")
    assert copy.intents.count() == pizza.intents.count()
    assert "Line 1: this is not valid JSON." in broken.content.decode()
    with zipfile.ZipFile(io.BytesIO(exported)) as archive:
        assert json.loads(archive.read("assistant.json"))["format"] == 2


def test_prompts_are_created_and_versioned_from_the_pages(client_for, editor, assistant):
    client = client_for(editor)
    fields = {"system": "", "temperature": "0.2", "max_tokens": "100", "model": "", "notes": ""}

    client.post(
        f"/assistants/{assistant.pk}/prompts/",
        {**fields, "name": "Upsell", "template": "Sell {{topping}}."},
    )
    prompt = Prompt.objects.get()
    client.post(f"/prompts/{prompt.pk}/", {**fields, "template": "Suggest {{topping}}."})

    assert [v.template for v in prompt.versions.order_by("number")] == [
        "Sell {{topping}}.",
        "Suggest {{topping}}.",
    ]


def test_outsiders_get_404_and_viewers_403_on_design_pages(client_for, outsider, viewer, pizza):
    intent = pizza.intents.first()
    assert intent is not None
    for url in (
        f"/assistants/{pizza.pk}/intents/",
        f"/intents/{intent.pk}/",
        f"/assistants/{pizza.pk}/entities/",
        f"/assistants/{pizza.pk}/flow/",
        f"/assistants/{pizza.pk}/prompts/",
        f"/assistants/{pizza.pk}/export/",
    ):
        assert client_for(outsider).get(url).status_code == 404, url
    viewer_client = client_for(viewer)
    assert viewer_client.post(f"/assistants/{pizza.pk}/intents/", {"name": "x"}).status_code == 403
    assert viewer_client.post(f"/assistants/{pizza.pk}/publish/").status_code == 403
