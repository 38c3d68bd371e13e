from __future__ import annotations

from django.urls import path

from chat.consumers import AssistantEventsConsumer, ChatConsumer, TestChatConsumer

websocket_urlpatterns = [
    path("ws/assistants/<int:assistant_id>/events/", AssistantEventsConsumer.as_asgi()),
    path("ws/assistants/<int:assistant_id>/test-chat/", TestChatConsumer.as_asgi()),
]

# The web chat is embedded in other sites' pages: the consumer checks the Origin against the
# assistant's own list of sites (and this server's hosts) instead of ALLOWED_HOSTS alone.
public_websocket_urlpatterns = [
    path("ws/chat/<int:assistant_id>/", ChatConsumer.as_asgi()),
]
