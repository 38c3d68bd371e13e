"""The API's rate limit: per account, or per address for callers who are not signed in."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db


@pytest.fixture
def five_a_minute(settings):
    settings.API_REQUESTS_PER_MINUTE = 5
    cache.clear()
    yield
    cache.clear()


def test_a_caller_over_the_limit_gets_429_with_when_to_retry(five_a_minute, api_for, owner, editor):
    client = api_for(owner)
    answers = [client.get("/api/workspaces/").status_code for _ in range(6)]

    assert answers == [200] * 5 + [429]
    refused = client.get("/api/workspaces/")
    assert 0 < int(refused["Retry-After"]) <= 60
    assert "throttled" in refused.json()["detail"].lower()
    assert api_for(editor).get("/api/workspaces/").status_code == 200  # another account


def test_callers_who_are_not_signed_in_are_limited_per_address(five_a_minute):
    client = APIClient()
    answers = [  # a different account each time: the login limits do not come into it
        client.post("/api/auth/token/", {"username": f"user{n}", "password": "y"}) for n in range(6)
    ]

    assert [answer.status_code for answer in answers] == [400] * 5 + [429]
    assert "throttled" in answers[-1].json()["detail"].lower()
