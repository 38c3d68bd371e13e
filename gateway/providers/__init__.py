"""One strategy per provider kind behind the ``ProviderClient`` interface."""

from __future__ import annotations

import threading

from gateway.models import Provider, ProviderKind
from gateway.providers.base import ProviderClient

_clients: dict[tuple[str, str, str], ProviderClient] = {}
_lock = threading.Lock()


def provider_client(provider: Provider) -> ProviderClient:
    """The process's client for this provider, shared: clients hold connection pools."""
    key = (provider.kind, provider.base_url, provider.api_key_env)
    client = _clients.get(key)
    if client is None:
        with _lock:
            client = _clients.get(key)
            if client is None:
                client = _client_build(provider)
                _clients[key] = client
    return client


def _client_build(provider: Provider) -> ProviderClient:
    if provider.kind == ProviderKind.LOCAL:
        from gateway.providers.local import LocalClient

        return LocalClient()
    from gateway.providers.openai_compat import OpenAICompatibleClient

    return OpenAICompatibleClient(base_url=provider.base_url, api_key_env=provider.api_key_env)
