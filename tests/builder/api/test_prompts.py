"""Prompts and their immutable versions through the REST API."""

from __future__ import annotations

from collections.abc import Callable

from django.contrib.auth.models import User
from rest_framework.test import APIClient

from core.models import Assistant, PromptVersion
from gateway.catalogue import LOCAL_MODEL_KEY, catalogue_sync


def create_prompt(client: APIClient, assistant: Assistant, **version: object):
    return client.post(
        "/api/prompts/",
        {
            "assistant": assistant.pk,
            "name": "Greeting",
            "first_version": {"template": "Greet {{name}} warmly.", **version},
        },
        format="json",
    )


def test_a_prompt_is_created_with_its_first_version_and_variables(
    api_for: Callable[[User], APIClient], editor: User, assistant: Assistant
) -> None:
    catalogue_sync()
    created = create_prompt(api_for(editor), assistant, model=LOCAL_MODEL_KEY, temperature=0.1)

    assert created.status_code == 201, created.json()
    latest = created.json()["latest"]
    assert latest["number"] == 1
    assert latest["variables"] == ["name"]
    assert latest["model"] == LOCAL_MODEL_KEY


def test_saving_again_makes_a_new_version_and_keeps_the_old_one(
    api_for: Callable[[User], APIClient], editor: User, assistant: Assistant
) -> None:
    client = api_for(editor)
    prompt_id = create_prompt(client, assistant).json()["id"]

    second = client.post(
        f"/api/prompts/{prompt_id}/versions/",
        {"template": "Welcome {{name}} to {{shop}}.", "notes": "mention the shop"},
        format="json",
    )

    assert second.status_code == 201, second.json()
    assert second.json()["number"] == 2
    assert second.json()["variables"] == ["name", "shop"]
    versions = client.get(f"/api/prompts/{prompt_id}/versions/").json()["results"]
    assert [version["number"] for version in versions] == [2, 1]
    assert PromptVersion.objects.get(number=1).template == "Greet {{name}} warmly."


def test_an_invalid_version_is_refused_with_the_field_named_and_nothing_saved(
    api_for: Callable[[User], APIClient], editor: User, assistant: Assistant
) -> None:
    created = create_prompt(api_for(editor), assistant, temperature=5)

    assert created.status_code == 400
    assert "temperature" in str(created.json())
    assert not assistant.prompts.exists()


def test_viewers_read_prompts_but_cannot_write_them(
    api_for: Callable[[User], APIClient], editor: User, viewer: User, assistant: Assistant
) -> None:
    prompt_id = create_prompt(api_for(editor), assistant).json()["id"]
    client = api_for(viewer)

    assert client.get(f"/api/prompts/{prompt_id}/").status_code == 200
    refused = client.post(f"/api/prompts/{prompt_id}/versions/", {"template": "x"}, format="json")
    assert refused.status_code == 403
    assert client.delete(f"/api/prompts/{prompt_id}/").status_code == 403


def test_another_workspaces_prompts_do_not_exist_for_you(
    api_for: Callable[[User], APIClient],
    editor: User,
    outsider: User,
    assistant: Assistant,
) -> None:
    prompt_id = create_prompt(api_for(editor), assistant).json()["id"]
    client = api_for(outsider)

    assert client.get(f"/api/prompts/{prompt_id}/").status_code == 404
    assert client.get(f"/api/prompts/{prompt_id}/versions/").status_code == 404
    assert create_prompt(client, assistant).status_code == 400  # not one of their assistants
    assert client.get("/api/prompts/").json()["results"] == []


def test_an_assistants_llm_policy_is_set_through_the_api(
    api_for: Callable[[User], APIClient], editor: User, assistant: Assistant
) -> None:
    catalogue_sync()
    response = api_for(editor).patch(
        f"/api/assistants/{assistant.pk}/",
        {"llm_model": LOCAL_MODEL_KEY, "llm_requests_per_minute": 5, "llm_monthly_budget": "12.50"},
        format="json",
    )

    assert response.status_code == 200, response.json()
    assistant.refresh_from_db()
    assert assistant.llm_model is not None
    assert assistant.llm_model.key == LOCAL_MODEL_KEY
    assert assistant.llm_requests_per_minute == 5
    assert str(assistant.llm_monthly_budget) == "12.50"
    assert assistant.llm_tokens_per_minute == 100_000  # untouched
