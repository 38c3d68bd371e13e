"""Chatting over the websocket through the whole ASGI stack: numbered frames, resuming where the
client left off, and typed errors for bad frames that leave the connection usable."""

from __future__ import annotations

import asyncio

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.db import transaction

from builder import services
from builder.demo import demo_content_seed
from config.asgi import application
from core.models import Assistant
from runtime import listings
from runtime.models import Conversation, TurnRecord
from tests.support.chat import frames_until, open_chat

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]

WELCOME = "Welcome to Pizza Palace! What can I do for you?"


@pytest.fixture
def pizza(assistant: Assistant) -> Assistant:
    """The test assistant with the demo's intents, entities and flow, and a trained draft."""
    with transaction.atomic():  # one training for all of it, when this commits
        demo_content_seed(assistant)
    return assistant


async def test_a_conversation_is_numbered_stored_and_recorded(client_for, editor, pizza):
    chat, connected = await open_chat(client_for, editor, pizza)
    assert connected

    await chat.send_json_to({"type": "hello", "user": "visitor-1"})
    welcome = await chat.receive_json_from(timeout=10)
    greeting = await chat.receive_json_from(timeout=10)
    await chat.send_json_to({"type": "text", "text": "a large pepperoni pizza please"})
    frames = await frames_until(chat, "text")
    await chat.disconnect()

    assert welcome["type"] == "welcome"
    assert welcome["resumed"] is False
    assert (greeting["seq"], greeting["text"]) == (1, WELCOME)
    assert frames[0] == {"type": "typing"}
    assert frames[-1]["seq"] == 3  # 2 is the user's own message, stored but not echoed
    assert frames[-1]["text"].startswith("One large pepperoni pizza, coming up!")
    turns = await sync_to_async(lambda: list(TurnRecord.objects.order_by("id")))()
    assert [turn.path for turn in turns] == ["start", "global-intent"]
    turn = turns[1]
    assert (turn.intent, turn.text, turn.seq) == (
        "order_pizza",
        "a large pepperoni pizza please",
        2,
    )
    assert turn.steps[-1] == "confirm"


async def test_a_client_that_reconnects_gets_exactly_what_it_missed(client_for, editor, pizza):
    chat, _ = await open_chat(client_for, editor, pizza)
    await chat.send_json_to({"type": "hello", "user": "visitor-2"})
    conversation = (await chat.receive_json_from(timeout=10))["conversation"]
    await chat.receive_json_from(timeout=10)  # the welcome text, seq 1
    await chat.send_json_to({"type": "text", "text": "I'd like to order food"})
    await frames_until(chat, "text")  # "Which size…", seq 3
    await chat.send_json_to({"type": "text", "text": "medium"})
    await frames_until(chat, "text")  # "And which pizza…", seq 5
    await chat.disconnect()

    again, _ = await open_chat(client_for, editor, pizza)
    hello = {"type": "hello", "user": "visitor-2", "conversation": conversation, "last_seq": 1}
    await again.send_json_to(hello)
    welcome = await again.receive_json_from(timeout=10)
    missed = [await again.receive_json_from(timeout=10) for _ in range(4)]
    nothing_more = await again.receive_nothing(timeout=0.3)
    await again.send_json_to({"type": "text", "text": "veggie"})
    reply = (await frames_until(again, "text"))[-1]
    await again.disconnect()

    assert welcome == {"type": "welcome", "conversation": conversation, "resumed": True}
    assert [(frame["seq"], frame["type"], frame["text"][:15]) for frame in missed] == [
        (2, "user", "I'd like to ord"),
        (3, "text", "Which size woul"),
        (4, "user", "medium"),
        (5, "text", "And which pizza"),
    ]
    assert nothing_more
    assert (reply["seq"], reply["text"]) == (
        7,
        "One medium veggie pizza, coming up! Anything else?",
    )


async def test_someone_elses_conversation_id_starts_a_new_conversation(client_for, editor, pizza):
    chat, _ = await open_chat(client_for, editor, pizza)
    await chat.send_json_to({"type": "hello", "user": "alice"})
    alices = (await chat.receive_json_from(timeout=10))["conversation"]
    await chat.disconnect()

    other, _ = await open_chat(client_for, editor, pizza)
    await other.send_json_to({"type": "hello", "user": "mallory", "conversation": alices})
    welcome = await other.receive_json_from(timeout=10)
    await other.disconnect()

    assert welcome["resumed"] is False
    assert welcome["conversation"] != alices


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        ("not json", "malformed"),
        ("[1, 2]", "malformed"),
        ('{"type": "dance"}', "unknown_type"),
        ('{"type": "text", "text": ""}', "invalid"),
        ('{"type": "button", "index": "first"}', "invalid"),
        ('{"type": "text", "text": "' + "x" * 2_500 + '"}', "too_large"),
        ("x" * 9_000, "too_large"),
    ],
)
async def test_bad_frames_get_a_typed_error_and_the_chat_goes_on(
    client_for, editor, pizza, frame, code
):
    chat, _ = await open_chat(client_for, editor, pizza)
    await chat.send_json_to({"type": "hello", "user": "visitor-3"})
    await chat.receive_json_from(timeout=10)
    await chat.receive_json_from(timeout=10)

    await chat.send_to(text_data=frame)
    error = await chat.receive_json_from(timeout=10)
    await chat.send_json_to({"type": "text", "text": "when are you open"})
    reply = (await frames_until(chat, "text"))[-1]
    await chat.disconnect()

    assert (error["type"], error["code"]) == ("error", code)
    assert reply["text"] == "We are open every day from 11:00 to 23:00."


async def test_flooding_is_refused_with_rate_limited_errors(client_for, editor, pizza):
    chat, _ = await open_chat(client_for, editor, pizza)
    for _ in range(15):
        await chat.send_json_to({"type": "typing"})
    errors = []
    while not await chat.receive_nothing(timeout=0.2):
        errors.append(await chat.receive_json_from())
    await chat.disconnect()

    assert len(errors) >= 5
    assert {error["code"] for error in errors} == {"rate_limited"}


async def test_outsiders_cannot_open_the_test_chat(client_for, outsider, pizza):
    _, connected = await open_chat(client_for, outsider, pizza)

    assert not connected
    assert not await sync_to_async(Conversation.objects.exists)()


async def open_public(
    assistant: Assistant,
    origin: str | None,
    host: str = "testserver",
    extra: tuple[tuple[bytes, bytes], ...] = (),
):
    headers = [(b"host", host.encode()), *extra]
    if origin is not None:
        headers.append((b"origin", origin.encode()))
    chat = WebsocketCommunicator(application, f"/ws/chat/{assistant.pk}/", headers=headers)
    connected, _ = await chat.connect()
    if connected:
        await chat.disconnect()
    return connected


async def test_the_web_chat_opens_only_from_this_server_or_the_assistants_own_sites(pizza):
    assert await open_public(pizza, "http://testserver")  # e.g. the demo page
    assert await open_public(pizza, None)  # not a browser
    assert not await open_public(pizza, "https://shop.example.com")

    await sync_to_async(services.assistant_update)(
        assistant=pizza, allowed_origins=["https://Shop.example.com/"]
    )

    assert await open_public(pizza, "https://shop.example.com")
    assert not await open_public(pizza, "https://evil.example.com")


async def test_without_listed_sites_only_this_servers_own_origin_opens_the_web_chat(assistant):
    # Another application on another port (or scheme) of the same host is another site.
    assert await open_public(assistant, "http://testserver")
    assert not await open_public(assistant, "http://testserver:8080")
    assert not await open_public(assistant, "https://testserver")
    assert await open_public(assistant, "http://testserver:8000", host="testserver:8000")
    assert await open_public(assistant, "http://testserver:80", host="testserver")
    assert not await open_public(assistant, "http://testserver", host="testserver:8000")
    assert not await open_public(assistant, "http://localhost", host="testserver")


async def test_this_servers_origin_behind_a_tls_proxy_is_https(assistant, settings):
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    proxied = ((b"x-forwarded-proto", b"https"),)

    assert await open_public(assistant, "https://testserver", extra=proxied)
    assert not await open_public(assistant, "http://testserver", extra=proxied)
    assert not await open_public(assistant, "https://testserver")


async def test_a_listed_site_opens_the_web_chat_on_its_full_origin_only(assistant):
    await sync_to_async(services.assistant_update)(
        assistant=assistant, allowed_origins=["https://shop.example:8443"]
    )

    assert await open_public(assistant, "https://shop.example:8443")
    assert not await open_public(assistant, "https://shop.example")
    assert not await open_public(assistant, "http://shop.example:8443")
    assert not await open_public(assistant, "https://shop.example:9443")
    assert await open_public(assistant, "http://testserver")  # this server's own pages still may
    assert not await open_public(assistant, "http://testserver:8443")


async def test_a_site_stored_with_its_default_port_is_the_same_origin(assistant):
    # Written before sites were normalised: the default port, spelt out.
    await Assistant.objects.filter(pk=assistant.pk).aupdate(
        allowed_origins=["https://shop.example:443", "http://blog.example:80"]
    )
    listings.listing_forget(assistant.pk)

    assert await open_public(assistant, "https://shop.example")
    assert await open_public(assistant, "http://blog.example")
    assert not await open_public(assistant, "http://shop.example")


async def test_a_site_struck_off_by_another_worker_is_refused_within_moments(pizza, monkeypatch):
    # Each worker keeps an assistant's site list for LISTINGS.ttl_s; a save in another process
    # sends this one no signal, so the list must be read again once that time is up.
    monkeypatch.setattr(listings.LISTINGS, "ttl_s", 0.2)
    await sync_to_async(services.assistant_update)(
        assistant=pizza, allowed_origins=["https://shop.example.com"]
    )
    assert await open_public(pizza, "https://shop.example.com")

    await Assistant.objects.filter(pk=pizza.pk).aupdate(allowed_origins=[])  # no signal
    await asyncio.sleep(0.3)

    assert not await open_public(pizza, "https://shop.example.com")


async def test_a_site_list_with_a_star_lets_any_site_embed_the_chat(pizza):
    await sync_to_async(services.assistant_update)(assistant=pizza, allowed_origins=["*"])

    assert await open_public(pizza, "https://anywhere.example.org")


async def test_two_tabs_on_one_conversation_share_one_numbering(client_for, editor, pizza):
    first, _ = await open_chat(client_for, editor, pizza)
    await first.send_json_to({"type": "hello", "user": "visitor-tabs"})
    conversation = (await first.receive_json_from(timeout=10))["conversation"]
    await first.receive_json_from(timeout=10)  # the greeting, seq 1
    second, _ = await open_chat(client_for, editor, pizza)
    await second.send_json_to(
        {"type": "hello", "user": "visitor-tabs", "conversation": conversation, "last_seq": 1}
    )
    assert (await second.receive_json_from(timeout=10))["resumed"] is True

    replies = []
    for chat, text in [(first, "when are you open"), (second, "where is my order")] * 2:
        await chat.send_json_to({"type": "text", "text": text})
        replies.append((await frames_until(chat, "text"))[-1]["seq"])
    await first.disconnect()
    await second.disconnect()

    # Each tab wrote after the other did: every frame still got the next number.
    assert replies == [3, 5, 7, 9]
    stored = await sync_to_async(
        lambda: list(
            Conversation.objects.get(pk=conversation)
            .messages.order_by("seq")
            .values_list("seq", flat=True)
        )
    )()
    assert stored == list(range(1, 10))
