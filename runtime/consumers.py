"""Thin websocket consumers; what they send is built in ``runtime.events``."""

from __future__ import annotations

from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from builder.models import Assistant
from runtime.events import assistant_group


@database_sync_to_async
def _is_member(user: Any, assistant_id: int) -> bool:
    return Assistant.objects.for_member(user).filter(pk=assistant_id).exists()


class AssistantEventsConsumer(AsyncJsonWebsocketConsumer):
    """Live updates of one assistant for the members of its workspace (read-only)."""

    group: str | None = None

    async def connect(self) -> None:
        assistant_id = int(self.scope["url_route"]["kwargs"]["assistant_id"])
        if not await _is_member(self.scope["user"], assistant_id):
            # Same refusal for "not yours" and "does not exist": nothing to learn from it.
            await self.close()
            return
        self.group = assistant_group(assistant_id)
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()

    async def disconnect(self, code: int) -> None:
        if self.group is not None:
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        # Any frame, well-formed or not, gets a typed error; the connection stays open.
        await self.send_json(
            {"type": "error", "code": "read_only", "message": "This socket only sends updates."}
        )

    async def assistant_event(self, message: dict[str, Any]) -> None:
        await self.send_json({"type": message["event"], "data": message["data"]})
