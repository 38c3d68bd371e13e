"""Talking to the chat consumer in-process, as the browser's test chat does."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import User
from django.test import Client

from config.asgi import application
from core.models import Assistant


async def open_chat(client_for: Callable[[User], Client], user: User, assistant: Assistant):
    client = await sync_to_async(client_for)(user)
    cookie = f"sessionid={client.cookies['sessionid'].value}".encode()
    chat = WebsocketCommunicator(
        application,
        f"/ws/assistants/{assistant.pk}/test-chat/",
        headers=[(b"cookie", cookie), (b"origin", b"http://testserver"), (b"host", b"testserver")],
    )
    connected, _ = await chat.connect()
    return chat, connected


async def frames_until(chat: WebsocketCommunicator, kind: str) -> list[dict[str, Any]]:
    """Frames received up to and including the first of type ``kind``."""
    frames = []
    while True:
        frame = await chat.receive_json_from(timeout=10)
        frames.append(frame)
        if frame["type"] == kind:
            return frames
