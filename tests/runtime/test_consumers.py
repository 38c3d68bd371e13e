"""The assistant events socket through the whole ASGI stack: origin check, session, routing."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import User
from django.test import Client

from builder import services
from config.asgi import application
from core.models import Assistant

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]


async def connect(
    client_for: Callable[[User], Client],
    user: User,
    assistant: Assistant,
    origin: str | None = "http://testserver",
    host: str = "testserver",
) -> tuple[WebsocketCommunicator, bool]:
    client = await sync_to_async(client_for)(user)
    cookie = f"sessionid={client.cookies['sessionid'].value}".encode()
    headers = [(b"cookie", cookie), (b"host", host.encode())]
    if origin is not None:
        headers.append((b"origin", origin.encode()))
    communicator = WebsocketCommunicator(
        application, f"/ws/assistants/{assistant.pk}/events/", headers=headers
    )
    connected, _ = await communicator.connect()
    return communicator, connected


async def test_a_member_hears_a_teammates_rename(
    client_for: Callable[[User], Client],
    viewer: User,
    assistant: Assistant,
) -> None:
    communicator, connected = await connect(client_for, viewer, assistant)
    assert connected
    await sync_to_async(services.assistant_update)(assistant=assistant, name="Pizza bot")
    message = await communicator.receive_json_from(timeout=5)
    assert message["type"] == "assistant.updated"
    assert message["data"]["name"] == "Pizza bot"
    await communicator.disconnect()


async def test_a_member_hears_when_the_assistant_is_deleted(
    client_for: Callable[[User], Client],
    owner: User,
    assistant: Assistant,
) -> None:
    communicator, connected = await connect(client_for, owner, assistant)
    assert connected
    await sync_to_async(services.assistant_delete)(assistant=assistant)
    assert (await communicator.receive_json_from(timeout=5))["type"] == "assistant.deleted"
    await communicator.disconnect()


async def test_a_member_of_another_workspace_is_refused(
    client_for: Callable[[User], Client],
    outsider: User,
    assistant: Assistant,
) -> None:
    communicator, connected = await connect(client_for, outsider, assistant)
    assert not connected
    await communicator.disconnect()


async def test_a_foreign_origin_is_refused(
    client_for: Callable[[User], Client],
    owner: User,
    assistant: Assistant,
) -> None:
    communicator, connected = await connect(
        client_for, owner, assistant, origin="https://evil.example"
    )
    assert not connected
    await communicator.disconnect()


@pytest.mark.parametrize(
    ("origin", "host"),
    [
        ("http://testserver:8080", "testserver"),  # another application of the same host
        ("https://testserver", "testserver"),  # the socket came over http
        ("http://testserver", "testserver:8000"),
        (None, "testserver"),  # not a browser: the builder's sockets are for its own pages
    ],
)
async def test_only_the_builders_own_origin_opens_its_sockets(
    client_for: Callable[[User], Client],
    owner: User,
    assistant: Assistant,
    origin: str | None,
    host: str,
) -> None:
    communicator, connected = await connect(client_for, owner, assistant, origin, host)
    assert not connected
    await communicator.disconnect()


async def test_the_builders_own_origin_on_another_port_opens_its_sockets(
    client_for: Callable[[User], Client],
    owner: User,
    assistant: Assistant,
) -> None:
    communicator, connected = await connect(
        client_for, owner, assistant, "http://testserver:8000", "testserver:8000"
    )
    assert connected
    await communicator.disconnect()


async def test_a_malformed_frame_gets_a_typed_error_and_the_socket_stays_open(
    client_for: Callable[[User], Client],
    owner: User,
    assistant: Assistant,
) -> None:
    communicator, connected = await connect(client_for, owner, assistant)
    assert connected
    await communicator.send_to(text_data="{not json")
    error = await communicator.receive_json_from(timeout=5)
    assert error["type"] == "error"
    await sync_to_async(services.assistant_update)(assistant=assistant, description="Still here")
    assert (await communicator.receive_json_from(timeout=5))["data"]["description"] == "Still here"
    await communicator.disconnect()
