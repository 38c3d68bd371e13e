"""Everything that pushes to live sockets, next to the writes it announces.

Creators watching an assistant's page get a message when it changes (and, in later issues, when
training or ingestion makes progress). Messages are sent after the transaction commits, so a socket
never hears of a write that was rolled back.
"""

from __future__ import annotations

from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction


def assistant_group(assistant_id: int) -> str:
    return f"assistant-{assistant_id}"


def assistant_event_send(*, assistant_id: int, event: str, data: dict[str, Any]) -> None:
    """Tell every socket watching the assistant that ``event`` happened, once the write commits."""

    def send() -> None:
        layer = get_channel_layer()
        if layer is not None:
            message = {"type": "assistant.event", "event": event, "data": data}
            async_to_sync(layer.group_send)(assistant_group(assistant_id), message)

    transaction.on_commit(send)
