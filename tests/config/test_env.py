"""Configuration mistakes stop the process with a message naming the variable."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured

from config.env import env_bool, env_int, env_list, env_required, env_url


def test_booleans_accept_the_usual_spellings(monkeypatch: pytest.MonkeyPatch) -> None:
    for raw, expected in [("true", True), ("ON", True), ("1", True), ("no", False), ("0", False)]:
        monkeypatch.setenv("FLAG", raw)
        assert env_bool("FLAG", not expected) is expected
    monkeypatch.setenv("FLAG", "")
    assert env_bool("FLAG", True) is True


@pytest.mark.parametrize(
    ("reader", "raw", "message"),
    [
        (lambda: env_bool("SETTING", False), "ture", "SETTING must be one of true/false"),
        (lambda: env_int("SETTING", 1), "60s", "SETTING must be a whole number, got '60s'"),
        (lambda: env_int("SETTING", 1, minimum=1), "0", "SETTING must be at least 1"),
        (
            lambda: env_url("SETTING", schemes=("redis",)),
            "localhost:6379",
            "SETTING must be a URL starting with redis://",
        ),
    ],
)
def test_a_bad_value_fails_loudly_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch,
    reader,
    raw: str,
    message: str,
) -> None:
    monkeypatch.setenv("SETTING", raw)
    with pytest.raises(ImproperlyConfigured, match=message):
        reader()


def test_a_missing_required_variable_says_why_it_is_needed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SECRET", raising=False)
    with pytest.raises(ImproperlyConfigured, match="SECRET must be set: signing cookies"):
        env_required("SECRET", "signing cookies")


def test_lists_are_comma_separated_and_drop_blanks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOSTS", "a.example, b.example,,")
    assert env_list("HOSTS", []) == ["a.example", "b.example"]
