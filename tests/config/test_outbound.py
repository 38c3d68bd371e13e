"""Where a creator may point the server: not inside its own network, unless allowed."""

from __future__ import annotations

import pytest

from core.outbound import OutboundRefused, outbound_check


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8000/admin/",
        "http://169.254.169.254/latest/meta-data/",  # a cloud's metadata service
        "http://10.0.0.5/internal",
        "http://[::1]/",
        "http://localhost/",
    ],
)
def test_addresses_inside_the_network_are_refused(url):
    with pytest.raises(OutboundRefused, match="inside this server's network"):
        outbound_check(url, allow_private=False)


def test_only_http_urls_with_a_host_are_requested():
    for url in ("file:///etc/passwd", "gopher://example.com/", "http:///nohost"):
        with pytest.raises(OutboundRefused, match="is not an http"):
            outbound_check(url, allow_private=True)


def test_public_addresses_and_allowed_private_ones_pass():
    outbound_check("https://93.184.216.34/orders", allow_private=False)
    outbound_check("http://127.0.0.1:8000/", allow_private=True)
