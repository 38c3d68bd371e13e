"""The shared fixtures: people, workspaces they belong to, and a small assistant.

``owner``, ``editor`` and ``viewer`` are members of ``workspace`` (which holds ``assistant``);
``outsider`` owns ``other_workspace`` with ``other_assistant`` and belongs to nothing else.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.test import Client, override_settings
from huey.contrib.djhuey import HUEY
from rest_framework.test import APIClient

from builder import services
from core.models import Assistant, Role, Workspace

pytest_plugins = ["tests.fake_llm", "tests.support.live_server"]

PASSWORD = "a-long-test-passphrase"


@pytest.fixture(autouse=True, scope="session")
def _test_environment() -> Iterator[None]:
    """Background jobs run in-line, so a test sees their effect when enqueue returns; so do LLM
    ledger writes (tests/gateway/test_ledger.py covers the write-behind thread); passwords hash
    fast, since hashing strength is not what these tests are about; the API's rate limit is
    out of the way (user ids repeat from test to test; tests/builder/api/test_throttle.py sets
    its own)."""
    HUEY.immediate = True
    with override_settings(
        PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"],
        LLM_LEDGER_WRITE_BEHIND=False,
        API_REQUESTS_PER_MINUTE=1_000_000,
    ):
        yield


@pytest.fixture(autouse=True)
def _nlu_models_in_tmp(settings: Any, tmp_path: Path) -> None:
    """Trained models go to the test's own folder, never into var/."""
    settings.NLU_MODELS_DIR = tmp_path / "nlu-models"


def make_user(username: str) -> User:
    return get_user_model().objects.create_user(
        username=username, email=f"{username}@example.com", password=PASSWORD
    )


@pytest.fixture
def owner(db: None) -> User:
    return make_user("olivia")


@pytest.fixture
def workspace(owner: User) -> Workspace:
    return services.workspace_create(name="Acme support", owner=owner)


@pytest.fixture
def editor(workspace: Workspace) -> User:
    user = make_user("eddie")
    services.member_add(workspace=workspace, username_or_email="eddie", role=Role.EDITOR)
    return user


@pytest.fixture
def viewer(workspace: Workspace) -> User:
    user = make_user("vera")
    services.member_add(workspace=workspace, username_or_email="vera", role=Role.VIEWER)
    return user


@pytest.fixture
def assistant(workspace: Workspace) -> Assistant:
    return services.assistant_create(
        workspace=workspace, name="Order bot", description="Takes orders.", language="en"
    )


@pytest.fixture
def outsider(db: None) -> User:
    return make_user("oscar")


@pytest.fixture
def other_workspace(outsider: User) -> Workspace:
    return services.workspace_create(name="Rival corp", owner=outsider)


@pytest.fixture
def other_assistant(other_workspace: Workspace) -> Assistant:
    return services.assistant_create(workspace=other_workspace, name="Rival bot")


@pytest.fixture
def client_for() -> Callable[[User], Client]:
    """A browser-like client logged in as the given user."""

    def login(user: User) -> Client:
        client = Client()
        client.force_login(user)
        return client

    return login


@pytest.fixture
def api_for() -> Callable[[User], APIClient]:
    """An API client authenticated as the given user."""

    def authenticate(user: User) -> APIClient:
        client = APIClient()
        client.force_authenticate(user)
        return client

    return authenticate
