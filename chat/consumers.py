"""Thin websocket consumers; what they send is built in ``core.events``."""

from __future__ import annotations

import json
import time
from typing import Any

from channels.consumer import get_handler_name
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from channels.security.websocket import WebsocketDenier

from core.events import assistant_group
from core.models import Assistant
from runtime.engine import Turn
from runtime.listings import (
    listing,
    origin_allowed,
    origin_parts,
    scope_header,
    socket_own_origin,
)
from runtime.models import Channel
from runtime.services import (
    Dialog,
    DialogUnavailable,
    FeedbackRefused,
    MessageRefused,
    dialog_begin,
    dialog_open,
    dialog_say,
    feedback_give,
    message_check,
)


@database_sync_to_async
def _is_member(user: Any, assistant_id: int) -> bool:
    return Assistant.objects.for_member(user).filter(pk=assistant_id).exists()


async def _origin_allowed(scope: dict[str, Any], assistant_id: int) -> bool:
    """Browsers say which page opened the socket: this server's own pages (same scheme, host and
    port as the handshake's), or a site the assistant lists (on its full origin), may chat with
    it. Clients that send no Origin are not browsers."""
    origin = scope_header(scope, b"origin")
    if origin is None:
        return True
    found = await listing(assistant_id)
    if found is None:
        return False  # no such assistant: refuse as if the site were not allowed
    return origin_allowed(origin, socket_own_origin(scope), found.allowed_origins)


class OwnOriginValidator:
    """Opens the builder's own sockets only to its own pages: the handshake's Origin must be
    this server's origin (scheme, host and port, the host one of ``ALLOWED_HOSTS``); a handshake
    without one is refused. Channels' ``AllowedHostsOriginValidator`` compared host names only."""

    def __init__(self, application: Any) -> None:
        self.application = application

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        origin = scope_header(scope, b"origin")
        own = socket_own_origin(scope)
        if origin is not None and own is not None and origin_parts(origin) == own:
            return await self.application(scope, receive, send)
        return await WebsocketDenier()(scope, receive, send)


class _Consumer(AsyncJsonWebsocketConsumer):
    """Every database call of these consumers goes through ``database_sync_to_async``, which
    closes stale connections around it; Channels' own close before every frame is dropped (it
    was one more trip through the single database thread for each frame, behind other work)."""

    async def dispatch(self, message: dict[str, Any]) -> None:
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)


class AssistantEventsConsumer(_Consumer):
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


MAX_FRAME_CHARS = 8_000
BURST = 10  # frames a client may send at once…
REFILL_PER_S = 2.0  # …and per second after that
TOO_LARGE_FRAME = f"Frames are text of at most {MAX_FRAME_CHARS} characters."


class ChatConsumer(_Consumer):
    """One end user's conversation with an assistant (the protocol is in the README).

    ``draft`` sockets are the builder's test panel: members only, draft flow and model.
    """

    draft = False
    dialog: Dialog | None = None
    # A conversation's turns all run on the socket's own worker and its state lives in the
    # database, so chat sockets need no channel-layer inbox (with Redis, 500 idle inboxes were
    # 500 blocking reads).
    channel_layer_alias = "none"

    async def connect(self) -> None:
        self.assistant_id = int(self.scope["url_route"]["kwargs"]["assistant_id"])
        if self.draft:
            allowed = await _is_member(self.scope["user"], self.assistant_id)
        else:
            allowed = await _origin_allowed(self.scope, self.assistant_id)
        if not allowed:
            await self.close()  # a refused handshake: 403 before the socket opens
            return
        self.allowance, self.checked = float(BURST), time.monotonic()
        await self.accept()

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if text_data is None or len(text_data) > MAX_FRAME_CHARS:
            await self._error("too_large", TOO_LARGE_FRAME)
            return
        if not self._take_allowance():
            await self._error("rate_limited", "Too many messages; slow down a little.")
            return
        try:
            frame = json.loads(text_data)
        except json.JSONDecodeError:
            await self._error("malformed", "Frames are JSON objects.")
            return
        if not isinstance(frame, dict):
            await self._error("malformed", "Frames are JSON objects.")
            return
        await self.receive_json(frame)

    async def receive_json(self, content: dict[str, Any], **kwargs: Any) -> None:
        kind = content.get("type")
        try:
            if kind == "hello":
                await self._hello(content)
            elif kind in ("text", "button") and self.dialog is None:
                await self._error("no_conversation", "Say hello first.")
            elif kind in ("text", "button"):
                said = {kind: content.get("text" if kind == "text" else "index")}
                message_check(**said)
                if kind == "text":
                    await self.send_json({"type": "typing"})
                turn = await dialog_say(self.dialog, self.send_json, **said)  # type: ignore[arg-type]
                await self._explain(turn)  # type: ignore[arg-type]
            elif kind == "feedback":
                await self._feedback(content)
            elif kind == "typing":
                pass
            else:
                await self._error("unknown_type", f"Unknown message type {kind!r}.")
        except MessageRefused as refused:
            await self._error(refused.code, str(refused))
        except DialogUnavailable as unavailable:
            await self._error("unavailable", str(unavailable))

    async def _hello(self, content: dict[str, Any]) -> None:
        user = content.get("user")
        if not isinstance(user, str) or not 1 <= len(user) <= 64:
            await self._error("invalid", "Say who you are: an anonymous id of 1 to 64 characters.")
            return
        conversation = content.get("conversation")
        self.dialog = await dialog_open(
            assistant_id=self.assistant_id,
            channel=Channel.TEST if self.draft else Channel.WIDGET,
            end_user=user,
            conversation_id=conversation if isinstance(conversation, str) else None,
        )
        await self.send_json(
            {
                "type": "welcome",
                "conversation": self.dialog.conversation_id,
                "resumed": self.dialog.resumed,
            }
        )
        last_seq = content.get("last_seq")
        seen = last_seq if isinstance(last_seq, int) and last_seq >= 0 else 0
        await dialog_begin(self.dialog, self.send_json, last_seq=seen)

    async def _feedback(self, content: dict[str, Any]) -> None:
        if self.dialog is None:
            await self._error("no_conversation", "Say hello first.")
            return
        try:
            feedback = await feedback_give(
                self.dialog.conversation_id,
                content.get("seq"),
                content.get("rating"),
                content.get("comment", ""),
            )
        except FeedbackRefused as refused:
            await self._error("invalid", str(refused))
            return
        await self.send_json({"type": "feedback", "seq": feedback.seq, "rating": feedback.rating})

    async def _explain(self, turn: Turn) -> None:
        """The test panel shows how each turn was understood and which steps ran."""
        if self.draft:
            await self.send_json(
                {
                    "type": "turn",
                    "intent": turn.intent,
                    "confidence": round(turn.confidence, 4),
                    "ranking": turn.ranking[:3],
                    "entities": turn.entities,
                    "path": turn.path,
                    "steps": turn.steps,
                    "knowledge": turn.knowledge,
                    "decided_by": turn.decided_by,
                }
            )

    def _take_allowance(self) -> bool:
        now = time.monotonic()
        self.allowance = min(BURST, self.allowance + (now - self.checked) * REFILL_PER_S)
        self.checked = now
        if self.allowance < 1:
            return False
        self.allowance -= 1
        return True

    async def _error(self, code: str, message: str) -> None:
        await self.send_json({"type": "error", "code": code, "message": message})


class TestChatConsumer(ChatConsumer):
    draft = True
