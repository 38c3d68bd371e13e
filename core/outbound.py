"""Requests the product sends where a creator points it (a web page for a knowledge base, an
API-call step): addresses inside this server's own network (loopback, private ranges, link-local
cloud metadata) are refused unless the instance allows them, so a flow or a document cannot be
used to reach what only the server can see."""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit


class OutboundRefused(ValueError):
    """The URL may not be requested; the message says why."""


def outbound_check(url: str, *, allow_private: bool) -> None:
    """Raise ``OutboundRefused`` unless ``url`` is http(s) to a host outside this network."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise OutboundRefused(f"{url} is not an http(s) URL.")
    if allow_private:
        return
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(parts.hostname, None)}
    except OSError as error:
        raise OutboundRefused(f"Could not fetch {url}: the host name does not resolve.") from error
    for address in addresses:
        ip = ipaddress.ip_address(str(address).split("%")[0])
        if ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_reserved:
            raise OutboundRefused(
                f"{url} points inside this server's network, which is not allowed."
            )
