"""The one ASGI application: HTTP, websockets and (by default) the task consumer in one process."""

from __future__ import annotations

import asyncio
import os
import threading
from typing import Any

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
# Django is set up first so the routing imports below can use models.
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.conf import settings  # noqa: E402
from django.urls import re_path  # noqa: E402
from django.utils.module_loading import autodiscover_modules  # noqa: E402
from huey.consumer import Consumer  # noqa: E402
from huey.contrib.djhuey import HUEY  # noqa: E402

from chat.consumers import OwnOriginValidator  # noqa: E402
from chat.routing import (  # noqa: E402
    public_websocket_urlpatterns,
    websocket_urlpatterns,
)
from config.collector import long_lived_freeze  # noqa: E402
from gateway.providers.local import local_model_preload  # noqa: E402


class InProcessTaskConsumer(Consumer):
    """Huey's consumer as threads of the ASGI process, for the embedded (no Redis) setup."""

    def _set_signal_handlers(self) -> None:
        # The ASGI server owns the process's signals; lifespan shutdown stops this consumer.
        pass


async def lifespan(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """Start the in-process task consumer with the server and stop it gracefully after."""
    consumer: InProcessTaskConsumer | None = None
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            if settings.TASKS_IN_PROCESS and not HUEY.immediate:
                autodiscover_modules("tasks")  # as `manage.py run_huey` does: register every task
                options: dict[str, Any] = settings.HUEY["consumer"]
                consumer = InProcessTaskConsumer(HUEY, **options)
                consumer.start()
            if settings.LLM_PRELOAD_LOCAL:
                # Load the bundled model now, beside serving, so no user waits for it.
                threading.Thread(
                    target=local_model_preload, name="llm-preload", daemon=True
                ).start()
            long_lived_freeze(collect=True)
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            if consumer is not None:
                await asyncio.to_thread(consumer.stop, graceful=True)
            await send({"type": "lifespan.shutdown.complete"})
            return


application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": URLRouter(
            [
                *public_websocket_urlpatterns,
                re_path(
                    r"^",
                    OwnOriginValidator(AuthMiddlewareStack(URLRouter(websocket_urlpatterns))),
                ),
            ]
        ),
        "lifespan": lifespan,
    }
)
