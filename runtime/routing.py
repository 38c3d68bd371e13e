from __future__ import annotations

from django.urls import path

from runtime.consumers import AssistantEventsConsumer

websocket_urlpatterns = [
    path("ws/assistants/<int:assistant_id>/events/", AssistantEventsConsumer.as_asgi()),
]
