"""Guessing passwords: five failures for an account from one address, and logins to it from there
are refused for a while, even with the right password; elsewhere it still logs in."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.core.cache import cache
from django.test import Client
from rest_framework.test import APIClient

from builder.logins import REFUSED
from tests.conftest import PASSWORD


@pytest.fixture(autouse=True)
def _fresh_counts() -> Iterator[None]:
    cache.clear()
    yield
    cache.clear()


def log_in(client: Client, password: str) -> str:
    response = client.post("/accounts/login/", {"username": "olivia", "password": password})
    return response.content.decode() if response.status_code == 200 else "logged in"


def test_five_wrong_passwords_refuse_the_account_from_that_address_only(owner):
    attacker = Client(REMOTE_ADDR="203.0.113.9")
    for _ in range(5):
        assert "Please enter a correct username and password" in log_in(attacker, "guess")

    assert REFUSED in log_in(attacker, PASSWORD)
    assert log_in(Client(REMOTE_ADDR="198.51.100.7"), PASSWORD) == "logged in"


def test_a_successful_login_forgets_earlier_failures(owner):
    person = Client(REMOTE_ADDR="198.51.100.7")
    for _ in range(4):
        log_in(person, "typo")
    assert log_in(person, PASSWORD) == "logged in"

    person = Client(REMOTE_ADDR="198.51.100.7")
    for _ in range(4):
        log_in(person, "typo")
    assert log_in(person, PASSWORD) == "logged in"


def test_one_address_trying_many_accounts_is_refused_too(owner):
    attacker = Client(REMOTE_ADDR="203.0.113.9")
    for number in range(30):
        attacker.post("/accounts/login/", {"username": f"user{number}", "password": "guess"})

    assert REFUSED in log_in(attacker, PASSWORD)


def test_the_api_token_endpoint_counts_and_refuses_alike(owner):
    client = APIClient(REMOTE_ADDR="203.0.113.9")
    for _ in range(5):
        response = client.post("/api/auth/token/", {"username": "olivia", "password": "guess"})
        assert response.status_code == 400

    refused = client.post("/api/auth/token/", {"username": "olivia", "password": PASSWORD})

    assert refused.status_code == 429
    assert refused.json()["detail"] == REFUSED
    assert log_in(Client(REMOTE_ADDR="203.0.113.9"), PASSWORD) != "logged in"
    other = APIClient(REMOTE_ADDR="198.51.100.7")
    token = other.post("/api/auth/token/", {"username": "olivia", "password": PASSWORD})
    assert token.status_code == 200
    assert token.json()["token"]
