"""End users rate the assistant's messages; a thumbs-down on a generated reply shows up in its
prompt's backtests, one click away from a prompt test case that carries the user's words."""

from __future__ import annotations

import pytest
from asgiref.sync import sync_to_async
from django.db import transaction

from builder import services
from builder.demo import demo_content_seed
from core.models import Assistant
from gateway.calls import complete, prompt_call
from quality.services.backtests import backtest_case_create, backtests
from runtime.models import Channel, Conversation, Feedback, Message, TurnRecord
from runtime.services import FeedbackRefused, feedback_record
from tests.support.chat import open_chat

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def answered(assistant: Assistant, primary) -> tuple[Conversation, object]:
    """A conversation whose second turn streamed a generated reply (messages 3 to 5)."""
    prompt = services.prompt_create(
        assistant=assistant, name="menu", template="Describe {{ dish }}.", model=primary
    )
    version = prompt.versions.get()
    completion = complete(
        **prompt_call(
            version,
            {"dish": "the veggie"},
            purpose="generate",
            workspace_id=assistant.workspace_id,
            assistant_id=assistant.pk,
        )
    )
    conversation = Conversation.objects.create(
        assistant=assistant, channel=Channel.WIDGET, end_user="shopper"
    )
    frames = [
        (False, {"type": "text", "text": "Hi!", "buttons": []}),
        (True, {"type": "user", "text": "tell me about the veggie"}),
        (False, {"type": "stream.start", "step": "describe"}),
        (False, {"type": "stream.chunk", "text": completion.text}),
        (False, {"type": "stream.end", "complete": True, "text": completion.text}),
    ]
    for seq, (from_user, payload) in enumerate(frames, start=1):
        Message.objects.create(
            conversation=conversation, seq=seq, from_user=from_user, payload=payload
        )
    TurnRecord.objects.create(conversation=conversation, seq=1, path="start")
    TurnRecord.objects.create(
        conversation=conversation,
        seq=2,
        path="global-intent",
        llm=[{"purpose": "generate", "request_id": completion.request_id}],
    )
    return conversation, prompt


def test_a_thumbs_down_on_a_generated_reply_becomes_a_backtest(answered, fake):
    conversation, prompt = answered
    assert backtests(prompt) == []  # the call itself went fine

    feedback_record(str(conversation.pk), 3, "down", "  It   forgot the price. ")

    (row,) = backtests(prompt)
    assert row["problem"] == "thumbs down"
    assert row["call"].disliked == "It forgot the price."
    case = backtest_case_create(prompt=prompt, call_id=row["call"].pk)
    assert case.values == {"dish": "the veggie"}
    assert case.checks == [
        {
            "kind": "judge",
            "value": "Answers what the user asked, correctly and helpfully. "
            "The user said: It forgot the price.",
        }
    ]
    # Changing one's mind replaces the rating.
    feedback_record(str(conversation.pk), 3, "up")
    assert Feedback.objects.get().rating == "up"
    assert backtests(prompt) == []


@pytest.mark.parametrize(
    ("seq", "rating", "message"),
    [
        (2, "down", "No message #2 of the assistant"),  # the user's own message
        (99, "down", "No message #99"),
        ("3", "down", "Say which message"),
        (3, "meh", "A rating is one of: up, down"),
    ],
)
def test_a_rating_of_something_else_is_refused(answered, seq, rating, message):
    conversation, _ = answered
    with pytest.raises(FeedbackRefused, match=message):
        feedback_record(str(conversation.pk), seq, rating)
    assert not Feedback.objects.exists()


@pytest.fixture
def pizza(assistant: Assistant) -> Assistant:
    with transaction.atomic():
        demo_content_seed(assistant)
    return assistant


@pytest.mark.asyncio
async def test_a_rating_over_the_websocket_is_stored_and_acknowledged(client_for, editor, pizza):
    chat, _ = await open_chat(client_for, editor, pizza)
    await chat.send_json_to({"type": "hello", "user": "rater"})
    conversation = (await chat.receive_json_from(timeout=10))["conversation"]
    greeting = await chat.receive_json_from(timeout=10)

    await chat.send_json_to({"type": "feedback", "seq": greeting["seq"], "rating": "down"})
    acknowledged = await chat.receive_json_from(timeout=10)
    await chat.send_json_to({"type": "feedback", "seq": 42, "rating": "down"})
    refused = await chat.receive_json_from(timeout=10)
    await chat.disconnect()

    assert acknowledged == {"type": "feedback", "seq": 1, "rating": "down"}
    assert refused["type"] == "error"
    assert refused["code"] == "invalid"
    stored = await sync_to_async(
        lambda: list(Feedback.objects.values_list("conversation", "seq"))
    )()
    assert [(str(c), s) for c, s in stored] == [(conversation, 1)]


def test_a_rating_over_http_names_a_conversation_of_that_user(answered, api_for, editor, fake):
    conversation, _ = answered
    conversation.channel = Channel.API
    conversation.save()
    client = api_for(editor)
    url = f"/api/assistants/{conversation.assistant_id}/feedback/"
    body = {"user": "shopper", "conversation": str(conversation.pk), "seq": 3, "rating": "down"}

    rated = client.post(url, body, format="json")
    someone_else = client.post(url, {**body, "user": "mallory"}, format="json")
    user_message = client.post(url, {**body, "seq": 2}, format="json")

    assert rated.status_code == 201
    assert someone_else.status_code == 404
    assert user_message.status_code == 400
    assert Feedback.objects.get().rating == "down"
