"""How many API requests a caller may make: per account when signed in (token or session), per
address otherwise. Over the limit the answer is 429 with ``Retry-After``."""

from __future__ import annotations

from django.conf import settings
from rest_framework.throttling import SimpleRateThrottle


class CallerRateThrottle(SimpleRateThrottle):
    """``API_REQUESTS_PER_MINUTE`` per account, or per address for anonymous callers (read at
    each request, so a deployment and the tests can change it)."""

    scope = "caller"

    def __init__(self) -> None:  # the rate is read per request, not once at import
        pass

    def allow_request(self, request, view):  # type: ignore[no-untyped-def]
        self.rate = f"{settings.API_REQUESTS_PER_MINUTE}/min"
        self.num_requests, self.duration = self.parse_rate(self.rate)
        return super().allow_request(request, view)

    def get_cache_key(self, request, view):  # type: ignore[no-untyped-def]
        if request.user and request.user.is_authenticated:
            ident = f"user-{request.user.pk}"
        else:
            ident = f"address-{self.get_ident(request)}"
        return self.cache_format % {"scope": self.scope, "ident": ident}
