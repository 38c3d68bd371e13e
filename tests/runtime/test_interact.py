"""Publishing, rolling back, and the dialog over plain HTTP."""

from __future__ import annotations

import uuid

import pytest
from django.db import transaction

from builder import services
from builder.demo import demo_content_seed
from core.models import Assistant
from runtime.models import Channel, Conversation, TurnRecord
from runtime.services import engine_for

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def pizza(assistant: Assistant) -> Assistant:
    with transaction.atomic():
        demo_content_seed(assistant)
    return assistant


def interact(client, assistant: Assistant, **body):
    return client.post(f"/api/assistants/{assistant.pk}/interact/", body, format="json")


def chat_status(client, assistant: Assistant, origin: str, host="testserver", secure=False):
    """403 when the page's origin may not chat; an unpublished assistant answers 409 otherwise."""
    return client.post(
        f"/api/assistants/{assistant.pk}/interact/",
        {"user": "u1", "text": "hello"},
        format="json",
        headers={"origin": origin, "host": host},
        secure=secure,
    ).status_code


def test_without_listed_sites_only_this_servers_own_origin_chats_over_http(
    api_for, editor, assistant
):
    client = api_for(editor)

    assert chat_status(client, assistant, "http://testserver") == 409
    assert chat_status(client, assistant, "http://testserver:8080") == 403
    assert chat_status(client, assistant, "https://testserver") == 403
    assert chat_status(client, assistant, "https://testserver", secure=True) == 409
    assert chat_status(client, assistant, "http://testserver", secure=True) == 403
    assert chat_status(client, assistant, "http://testserver:8000", host="testserver:8000") == 409
    assert chat_status(client, assistant, "http://testserver", host="testserver:8000") == 403
    assert chat_status(client, assistant, "null") == 403
    # A caller that sends no Origin is not a browser page (a server using its token).
    assert interact(client, assistant, user="u1").status_code == 409


def test_a_listed_site_chats_over_http_on_its_full_origin_only(api_for, editor, assistant):
    services.assistant_update(assistant=assistant, allowed_origins=["https://shop.example:8443"])
    client = api_for(editor)

    assert chat_status(client, assistant, "https://shop.example:8443") == 409
    assert chat_status(client, assistant, "https://shop.example") == 403
    assert chat_status(client, assistant, "http://shop.example:8443") == 403
    assert chat_status(client, assistant, "http://testserver") == 409


def test_a_site_list_with_a_star_lets_any_site_chat_over_http(api_for, editor, assistant):
    services.assistant_update(assistant=assistant, allowed_origins=["*"])

    assert chat_status(api_for(editor), assistant, "https://anywhere.example.org") == 409


def test_feedback_over_http_checks_the_origin_too(api_for, editor, assistant):
    response = api_for(editor).post(
        f"/api/assistants/{assistant.pk}/feedback/",
        {"user": "u1", "conversation": str(uuid.uuid4()), "seq": 1, "rating": "up"},
        format="json",
        headers={"origin": "http://testserver:8080"},
    )

    assert response.status_code == 403


def test_an_unpublished_assistant_says_so_over_http(api_for, editor, pizza):
    response = interact(api_for(editor), pizza, user="u1", text="hello")

    assert response.status_code == 409
    assert response.json()["detail"] == "The assistant is not published."


def test_a_published_assistant_chats_over_http_with_the_same_numbering(api_for, editor, pizza):
    client = api_for(editor)
    published = client.post(
        f"/api/assistants/{pizza.pk}/versions/", {"notes": "first"}, format="json"
    )
    assert published.status_code == 201, published.json()

    first = interact(client, pizza, user="u1").json()
    second = interact(
        client, pizza, user="u1", conversation=first["conversation"], text="when are you open"
    ).json()

    assert [(m["seq"], m["text"]) for m in first["messages"]] == [
        (1, "Welcome to Pizza Palace! What can I do for you?")
    ]
    assert [(m["seq"], m["text"]) for m in second["messages"]] == [
        (3, "We are open every day from 11:00 to 23:00.")
    ]
    assert second["turn"]["intent"] == "opening_hours"
    conversation = Conversation.objects.get()
    assert (conversation.channel, conversation.last_seq) == (Channel.API, 3)


def test_the_runtime_keeps_serving_the_published_flow_while_the_draft_changes(
    api_for, editor, pizza
):
    client = api_for(editor)
    client.post(f"/api/assistants/{pizza.pk}/versions/", {}, format="json")
    flow = pizza.flows.get()
    graph = dict(flow.graph)
    graph["steps"] = [
        {**step, "text": "Draft greeting"} if step["id"] == "welcome" else step
        for step in graph["steps"]
    ]
    services.flow_update(flow=flow, graph=graph)

    served = interact(client, pizza, user="u2").json()
    republished = client.post(f"/api/assistants/{pizza.pk}/versions/", {}, format="json")
    now = interact(client, pizza, user="u3").json()
    rolled = client.post(f"/api/assistants/{pizza.pk}/versions/1/rollback/")
    back = interact(client, pizza, user="u4").json()

    assert served["messages"][0]["text"].startswith("Welcome to Pizza Palace")
    assert republished.json()["number"] == 2
    assert now["messages"][0]["text"] == "Draft greeting"
    assert rolled.json()["published"] is True
    assert back["messages"][0]["text"].startswith("Welcome to Pizza Palace")


def test_publishing_waits_for_training_on_the_latest_changes(api_for, editor, pizza):
    with transaction.atomic():
        services.intent_create(assistant=pizza, name="thanks", utterances=["thank you"])
        response = api_for(editor).post(f"/api/assistants/{pizza.pk}/versions/", {}, format="json")

    assert response.status_code == 400
    assert "training" in response.json()["nlu"][0]


def test_the_usage_page_counts_nlu_turns_with_their_latency(
    api_for, client_for, editor, viewer, outsider, pizza, workspace
):
    client = api_for(editor)
    client.post(f"/api/assistants/{pizza.pk}/versions/", {"notes": "first"}, format="json")
    first = interact(client, pizza, user="u1").json()
    for text in ("when are you open", "what is the meaning of life"):
        interact(client, pizza, user="u1", conversation=first["conversation"], text=text)

    rows = api_for(viewer).get(f"/api/usage/nlu/?workspace={workspace.pk}").json()

    assert len(rows) == 1
    row = rows[0]
    assert (row["assistant"], row["turns"], row["decided_by_llm"]) == (pizza.name, 2, 0)
    assert row["matched"] == TurnRecord.objects.exclude(intent="").count()
    assert row["nlu_p99_ms"] >= row["nlu_p50_ms"] > 0
    assert api_for(outsider).get(f"/api/usage/nlu/?workspace={workspace.pk}").status_code == 404
    page = client_for(viewer).get(f"/workspaces/{workspace.pk}/usage/").content.decode()
    assert 'aria-label="NLU turns per day"' in page
    assert "2 turns understood by the in-house NLU" in page
    transcript = client_for(viewer).get(f"/transcripts/{first['conversation']}/")
    assert "(NLU " in transcript.content.decode()


def test_a_published_version_keeps_the_prompt_versions_it_was_published_with(pizza):
    from runtime.services import engine_for

    prompt = services.prompt_create(assistant=pizza, name="upsell", template="Sell {{ size }}.")
    services.assistant_publish(assistant=pizza)
    services.prompt_version_create(prompt=prompt, template="Sell {{ size }} loudly!")
    pizza.refresh_from_db()

    published = engine_for(pizza, draft=False).capabilities.prompts[prompt.pk]  # type: ignore[attr-defined]
    draft = engine_for(pizza, draft=True).capabilities.prompts[prompt.pk]  # type: ignore[attr-defined]

    assert (published.number, published.template) == (1, "Sell {{ size }}.")
    assert (draft.number, draft.template) == (2, "Sell {{ size }} loudly!")
    later = services.prompt_create(assistant=pizza, name="later", template="New {{ size }}.")
    assert later.pk not in engine_for(pizza, draft=False).capabilities.prompts  # type: ignore[attr-defined]


def test_new_conversations_follow_an_edit_of_the_published_assistant(api_for, editor, pizza):
    """The published engine's makings are reused from one conversation to the next (reading the
    snapshot for each was most of opening one), but not past an edit or a new version."""
    client = api_for(editor)
    client.post(f"/api/assistants/{pizza.pk}/versions/", {}, format="json")

    def engine():
        return engine_for(Assistant.objects.get(pk=pizza.pk), draft=False)

    first, second = engine(), engine()
    edited = client.patch(f"/api/assistants/{pizza.pk}/", {"nlu_threshold": 0.9}, format="json")
    after_edit = engine()
    client.post(f"/api/assistants/{pizza.pk}/versions/", {}, format="json")
    after_publish = engine()

    assert edited.status_code == 200, edited.json()
    assert second.graph is first.graph
    assert second.capabilities is not first.capabilities  # LLM calls are counted per conversation
    assert (first.capabilities.threshold, after_edit.capabilities.threshold) == (None, 0.9)
    assert after_publish.graph is not after_edit.graph
    assert after_publish.graph == after_edit.graph
