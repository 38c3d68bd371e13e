"""A misbehaving OpenAI-compatible server on loopback and catalogue rows that point at it; a
plugin of the root conftest, for every test that talks to a remote-style LLM.

``primary`` (priced) falls back to ``backup`` (priced); ``unpriced`` has no known prices.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pytest
from django.core.cache import cache

from benchmarks.fake_provider import FakeProvider
from gateway.cache import semantic_index
from gateway.limits import limiter
from gateway.models import LlmModel, Provider, ProviderKind
from gateway.retries import cooldowns_clear


@pytest.fixture(scope="session")
def fake_server() -> Iterator[FakeProvider]:
    with FakeProvider() as server:
        yield server


@pytest.fixture
def fake(fake_server: FakeProvider, settings) -> Iterator[FakeProvider]:
    """The server with fresh scripts; retries wait milliseconds, not seconds."""
    settings.LLM_BACKOFF_BASE_S = 0.001
    settings.LLM_BACKOFF_CAP_S = 0.01
    fake_server.reset()
    cooldowns_clear()
    limiter().clear()
    cache.clear()
    semantic_index.clear()  # row ids start again in each test's database
    yield fake_server
    fake_server.reset()


@pytest.fixture
def loopback(db: None, fake: FakeProvider) -> Provider:
    return Provider.objects.create(
        key="loopback", kind=ProviderKind.OPENAI, base_url=fake.base_url, api_key_env=""
    )


@pytest.fixture
def backup(loopback: Provider) -> LlmModel:
    return LlmModel.objects.create(
        key="loopback:backup",
        provider=loopback,
        name="backup",
        input_price=Decimal("0.50"),
        output_price=Decimal("1.50"),
    )


@pytest.fixture
def primary(loopback: Provider, backup: LlmModel) -> LlmModel:
    return LlmModel.objects.create(
        key="loopback:primary",
        provider=loopback,
        name="primary",
        input_price=Decimal("2.00"),
        output_price=Decimal("8.00"),
        supports_json_schema=True,
        fallback=backup,
    )


@pytest.fixture
def unpriced(loopback: Provider) -> LlmModel:
    return LlmModel.objects.create(key="loopback:unpriced", provider=loopback, name="unpriced")
