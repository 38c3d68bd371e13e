from __future__ import annotations

from django.urls import path

from runtime.consumers import AssistantEventsConsumer, ChatConsumer, TestChatConsumer

websocket_urlpatterns = [
    path("ws/assistants/<int:assistant_id>/events/", AssistantEventsConsumer.as_asgi()),
    path("ws/assistants/<int:assistant_id>/test-chat/", TestChatConsumer.as_asgi()),
    path("ws/chat/<int:assistant_id>/", ChatConsumer.as_asgi()),
]
