"""Transcripts: conversations found by what was said, each read back with its turns understood."""

from __future__ import annotations

import pytest

from core.models import Assistant
from runtime.models import Channel, Conversation, Message, TurnRecord

KB_CALL = {
    "purpose": "kb",
    "model": "openai:gpt-4o-mini",
    "input_tokens": 412,
    "output_tokens": 23,
    "cost": "0.000076",
    "cached": False,
    "request_id": "r1",
}


def conversation(assistant: Assistant, user: str, frames, channel=Channel.WIDGET, turns=()):
    chat = Conversation.objects.create(assistant=assistant, channel=channel, end_user=user)
    for seq, payload in enumerate(frames, start=1):
        Message.objects.create(
            conversation=chat, seq=seq, payload=payload, from_user=payload["type"] == "user"
        )
    for seq, intent, path in turns:
        TurnRecord.objects.create(
            conversation=chat,
            seq=seq,
            intent=intent,
            confidence=0.91,
            path=path,
            steps=["confirm"],
            llm=[KB_CALL] if path == "knowledge" else [],
        )
    return chat


@pytest.fixture
def chats(assistant):
    pizza = conversation(
        assistant,
        "visitor-1",
        [
            {"type": "text", "text": "Welcome!", "buttons": [{"index": 0, "label": "Order"}]},
            {"type": "user", "text": "a large pepperoni please"},
            {"type": "text", "text": "One large pepperoni, coming up!", "buttons": []},
            {"type": "user", "text": "do you have vegan cheese"},
            {"type": "stream.start", "step": "faq"},
            {"type": "stream.chunk", "text": "Yes, "},
            {"type": "stream.chunk", "text": "cashew cheese [1]."},
            {
                "type": "stream.end",
                "complete": True,
                "text": "Yes, cashew cheese [1].",
                "sources": [{"n": 1, "document": "faq.md", "heading": "Diets"}],
            },
            {"type": "handoff"},
        ],
        turns=[(2, "order_pizza", "global-intent"), (4, "", "knowledge")],
    )
    lost = conversation(
        assistant,
        "visitor-2",
        [{"type": "text", "text": "Welcome!"}, {"type": "user", "text": "blorp"}],
        channel=Channel.API,
        turns=[(2, "", "fallback")],
    )
    return pizza, lost


def test_a_transcript_reads_back_with_each_turn_understood(chats, client_for, viewer):
    pizza, _ = chats

    page = client_for(viewer).get(f"/transcripts/{pizza.pk}/")

    assert page.status_code == 200
    lines = page.context["lines"]
    assert [(line.who, line.text) for line in lines] == [
        ("bot", "Welcome!"),
        ("user", "a large pepperoni please"),
        ("bot", "One large pepperoni, coming up!"),
        ("user", "do you have vegan cheese"),
        ("bot", "Yes, cashew cheese [1]."),
        ("event", "Handed over to a person"),
    ]
    assert lines[1].turn.intent == "order_pizza"
    assert lines[4].sources[0]["document"] == "faq.md"
    html = page.content.decode()
    assert "order_pizza 0.91" in html
    assert "path knowledge" in html
    assert "[1] faq.md › Diets" in html
    assert "LLM kb: openai:gpt-4o-mini, 412 in / 23 out tokens, $0.000076" in html


@pytest.mark.parametrize(
    ("query", "found"),
    [
        ("", {"visitor-1", "visitor-2"}),
        ("?q=PEPPERONI", {"visitor-1"}),
        ("?q=visitor-2", {"visitor-2"}),
        ("?channel=api", {"visitor-2"}),
        ("?path=fallback", {"visitor-2"}),
        ("?q=pizza+palace+never+said+this", set()),
    ],
)
def test_conversations_are_found_by_words_channel_and_path(
    chats, assistant, client_for, viewer, query, found
):
    page = client_for(viewer).get(f"/assistants/{assistant.pk}/transcripts/{query}")

    assert {c.end_user for c in page.context["page"].object_list} == found


def test_the_api_lists_and_reads_transcripts(chats, assistant, api_for, viewer):
    api = api_for(viewer)

    listed = api.get(f"/api/assistants/{assistant.pk}/conversations/?path=knowledge").json()
    (row,) = listed["results"]
    read = api.get(f"/api/conversations/{row['id']}/").json()

    assert row["end_user"] == "visitor-1"
    assert row["turn_count"] == 2
    assert read["lines"][1]["turn"]["intent"] == "order_pizza"
    assert read["lines"][4]["sources"][0]["n"] == 1


def test_another_workspace_cannot_list_or_read_transcripts(
    chats, assistant, client_for, api_for, outsider
):
    pizza, _ = chats

    assert client_for(outsider).get(f"/assistants/{assistant.pk}/transcripts/").status_code == 404
    assert client_for(outsider).get(f"/transcripts/{pizza.pk}/").status_code == 404
    api = api_for(outsider)
    assert api.get(f"/api/assistants/{assistant.pk}/conversations/").status_code == 404
    assert api.get(f"/api/conversations/{pizza.pk}/").status_code == 404


@pytest.mark.django_db
def test_each_stored_frame_writes_one_index_on_its_conversation() -> None:
    """The unique (conversation, seq) index serves every lookup by conversation; a second index
    on the conversation alone would only cost a write per frame."""
    from django.db import connection

    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, Message._meta.db_table)
    on_conversation = [
        name
        for name, constraint in constraints.items()
        if constraint["index"] or constraint["unique"]
        if constraint["columns"][:1] == ["conversation_id"]
    ]
    assert len(on_conversation) == 1
    assert constraints[on_conversation[0]]["columns"] == ["conversation_id", "seq"]
