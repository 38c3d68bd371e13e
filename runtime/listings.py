"""What opening a chat needs to know about an assistant, kept in memory for a moment.

Every websocket handshake checks the page's origin against the assistant's allowed sites, and
every new conversation needs the assistant's published version and knowledge base. With a
hundred sessions opening a second those reads were most of the database work of opening one,
each a trip through the single database thread. An entry lives two seconds (``LISTINGS.ttl_s``);
a change saved in this process drops it at once, other worker processes see it within that time.

Origins are compared whole, as browsers do: scheme, host and port (``origin_parts``). Another
application on another port of the same host, or the same host over plain http, is another site.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from channels.db import database_sync_to_async
from django.conf import settings
from django.http.request import split_domain_port, validate_host

from core.models import Assistant
from knowledge.models import KnowledgeBase
from runtime.recent import Recent


@dataclass(frozen=True)
class Listing:
    assistant_id: int
    allowed_origins: tuple[str, ...]
    published_version_id: int | None
    updated_at: datetime
    knowledge_base_id: int | None

    @property
    def published_key(self) -> tuple[Any, ...]:
        """Names what a published conversation runs: version, last edit and knowledge base."""
        return (
            self.assistant_id,
            self.published_version_id,
            self.updated_at,
            self.knowledge_base_id,
        )


Origin = tuple[str, str, int]
"""A web origin: scheme (``http`` or ``https``), host name, port."""

DEFAULT_PORTS = {"http": 80, "https": 443}
ANY_SITE = "*"


def origin_parts(text: str) -> Origin | None:
    """The (scheme, host, port) of an origin: a browser's ``Origin`` header or a listed site.

    Scheme and host are lowercased (an IPv6 host keeps its brackets, ``[::1]``); a missing port
    is the scheme's default (http 80, https 443), so ``https://shop.example`` and
    ``https://shop.example:443`` are one origin and ``https://shop.example:8443`` another. One
    trailing slash is tolerated. Anything else is None: a bare host name (the builder never
    stores one, so a stored list only ever holds origins and ``*``), another scheme, a path,
    query or user name, a port out of range, or a browser's ``null``. None matches nothing.
    """
    scheme, separator, rest = text.strip().partition("://")
    scheme = scheme.lower()
    if not separator or scheme not in DEFAULT_PORTS:
        return None
    return _host_origin(scheme, rest.removesuffix("/"))


def _host_origin(scheme: str, host: str) -> Origin | None:
    """``host`` (``name[:port]``, as in a Host header) reached over ``scheme``; None if no host."""
    name, port_text = split_domain_port(host)
    if not name:
        return None
    port = int(port_text) if port_text else DEFAULT_PORTS[scheme]
    return (scheme, name, port) if 0 < port < 65536 else None


def origin_text(origin: Origin) -> str:
    """How an origin is written and stored: ``scheme://host``, with ``:port`` unless default."""
    scheme, host, port = origin
    return f"{scheme}://{host}" if port == DEFAULT_PORTS[scheme] else f"{scheme}://{host}:{port}"


def origin_allowed(origin: str, own: Origin | None, sites: Iterable[str]) -> bool:
    """Whether a page of ``origin`` may chat with an assistant listing ``sites``.

    This server's own origin ``own`` always may (None: the request named no valid host of this
    server); a listed site may on its full origin; ``*`` lets any page chat.
    """
    listed = tuple(sites)
    if ANY_SITE in listed:
        return True
    parts = origin_parts(origin)
    if parts is None:
        return False
    return parts == own or any(parts == origin_parts(site) for site in listed)


def own_origin(scheme: str, host: str) -> Origin | None:
    """This server's own origin for a request that came over ``scheme`` to Host ``host``: None
    when the host is not one of ``ALLOWED_HOSTS`` (so a rebound name never counts as ours)."""
    allowed = settings.ALLOWED_HOSTS
    if settings.DEBUG and not allowed:
        allowed = [".localhost", "127.0.0.1", "[::1]"]  # as Django's request.get_host()
    name, _ = split_domain_port(host)
    if not name or not validate_host(name, allowed):
        return None
    return _host_origin(scheme, host)


def scope_header(scope: dict[str, Any], name: bytes) -> str | None:
    """The value of an ASGI request's header ``name`` (lowercase), or None when absent."""
    return next((v.decode("latin-1") for k, v in scope.get("headers", []) if k == name), None)


def socket_own_origin(scope: dict[str, Any]) -> Origin | None:
    """This server's own origin as a websocket handshake names it: its Host over its scheme.

    ``wss`` is https; behind a TLS proxy (``SECURE_PROXY_SSL_HEADER``) the proxy's header
    decides, as for Django's ``request.is_secure()``.
    """
    host = scope_header(scope, b"host")
    return None if host is None else own_origin(_socket_scheme(scope), host)


def _socket_scheme(scope: dict[str, Any]) -> str:
    if settings.SECURE_PROXY_SSL_HEADER:
        meta_name, secure_value = settings.SECURE_PROXY_SSL_HEADER
        for name, value in scope.get("headers", []):
            if "HTTP_" + name.decode("latin-1").upper().replace("-", "_") == meta_name:
                forwarded = value.decode("latin-1").split(",", 1)[0].strip()
                return "https" if forwarded == secure_value else "http"
    return "https" if scope.get("scheme", "ws") in ("wss", "https") else "http"


LISTINGS: Recent[int, Listing] = Recent(ttl_s=2.0, kept=1024)


def listing_of(assistant: Assistant) -> Listing:
    """The listing of an assistant read with its knowledge base (or of one without)."""
    try:
        knowledge_base_id: int | None = assistant.knowledge_base.pk
    except Assistant.knowledge_base.RelatedObjectDoesNotExist:
        knowledge_base_id = None
    return Listing(
        assistant_id=assistant.pk,
        allowed_origins=tuple(assistant.allowed_origins),
        published_version_id=assistant.published_version_id,
        updated_at=assistant.updated_at,
        knowledge_base_id=knowledge_base_id,
    )


def listing_keep(listing: Listing) -> None:
    LISTINGS.put(listing.assistant_id, listing)


def listing_cached(assistant_id: int) -> Listing | None:
    """The listing if this process read it less than ``LISTINGS.ttl_s`` ago."""
    return LISTINGS.get(assistant_id)


@database_sync_to_async
def _listing_load(assistant_id: int) -> Listing | None:
    assistant = (
        Assistant.objects.select_related("knowledge_base")
        .only("allowed_origins", "published_version_id", "updated_at", "knowledge_base__id")
        .filter(pk=assistant_id)
        .first()
    )
    if assistant is None:
        return None
    listing = listing_of(assistant)
    listing_keep(listing)
    return listing


async def listing(assistant_id: int) -> Listing | None:
    """The assistant's listing, from memory when fresh; None when there is no such assistant."""
    return listing_cached(assistant_id) or await _listing_load(assistant_id)


def listing_forget(assistant_id: int) -> None:
    LISTINGS.forget(assistant_id)


def _forget_assistant(sender: Any, instance: Assistant, **kwargs: Any) -> None:
    listing_forget(instance.pk)


def _forget_knowledge_base(sender: Any, instance: Any, **kwargs: Any) -> None:
    listing_forget(instance.assistant_id)


def listings_watch() -> None:
    """Drop an assistant's listing whenever it or its knowledge base is saved or deleted."""
    from django.db.models.signals import post_delete, post_save

    for name, signal in (("saved", post_save), ("deleted", post_delete)):
        signal.connect(_forget_assistant, sender=Assistant, dispatch_uid=f"listing-{name}")
        signal.connect(
            _forget_knowledge_base, sender=KnowledgeBase, dispatch_uid=f"listing-kb-{name}"
        )
