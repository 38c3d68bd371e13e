"""Running a prompt version over HTTP: one answer, or server-sent events token by token."""

from __future__ import annotations

import json

import pytest
from asgiref.sync import sync_to_async
from django.test import AsyncClient

from benchmarks.fake_provider import cut, reply
from builder import services

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def prompt(assistant, primary):
    return services.prompt_create(
        assistant=assistant,
        name="Greeting",
        system="You greet customers of {{shop}}.",
        template="Greet {{name}}.",
        model=primary,
    )


def run_url(prompt) -> str:
    return f"/api/prompts/{prompt.pk}/run/"


def test_a_prompt_runs_with_its_values_and_reports_usage(fake, prompt, api_for, editor):
    fake.script("primary", reply("Hello Ada, welcome to Pizza Palace!"))

    response = api_for(editor).post(
        run_url(prompt), {"values": {"shop": "Pizza Palace", "name": "Ada"}}, format="json"
    )

    assert response.status_code == 200, response.json()
    assert response.json()["text"] == "Hello Ada, welcome to Pizza Palace!"
    assert response.json()["model"] == "loopback:primary"
    sent = fake.requests[0]["messages"]
    assert sent[0] == {"role": "system", "content": "You greet customers of Pizza Palace."}
    assert sent[1] == {"role": "user", "content": "Greet Ada."}


def test_a_missing_value_is_named(fake, prompt, api_for, editor):
    response = api_for(editor).post(
        run_url(prompt), {"values": {"shop": "Pizza Palace"}}, format="json"
    )

    assert response.status_code == 400
    assert response.json()["error"] == "prompt_invalid"
    assert "name" in response.json()["detail"]


def test_over_the_rate_limit_the_answer_is_429_with_retry_after(
    fake, prompt, api_for, editor, assistant
):
    services.assistant_llm_policy_update(
        assistant=assistant,
        model=None,
        requests_per_minute=1,
        tokens_per_minute=None,
        monthly_budget=None,
        injection_judge=False,
    )
    client = api_for(editor)
    first = {"values": {"shop": "Pizza Palace", "name": "Ada"}}
    assert client.post(run_url(prompt), first, format="json").status_code == 200

    second = {"values": {"shop": "Pizza Palace", "name": "Grace"}}  # not a cache hit
    response = client.post(run_url(prompt), second, format="json")

    assert response.status_code == 429
    assert response.json()["error"] == "rate_limited"
    assert int(response["Retry-After"]) > 0


def test_viewers_cannot_run_prompts_and_outsiders_cannot_see_them(
    fake, prompt, api_for, viewer, outsider
):
    values = {"values": {"shop": "x", "name": "y"}}
    assert api_for(viewer).post(run_url(prompt), values, format="json").status_code == 403
    assert api_for(outsider).post(run_url(prompt), values, format="json").status_code == 404


async def read_events(client: AsyncClient, url: str, body: dict) -> list[tuple[str, dict]]:
    response = await client.post(url, body, content_type="application/json")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/event-stream"
    chunks = response.streaming_content  # type: ignore[attr-defined]
    text = "".join([chunk.decode() async for chunk in chunks])
    events = []
    for block in text.strip().split("\n\n"):
        name, data = block.split("\n", 1)
        events.append((name.removeprefix("event: "), json.loads(data.removeprefix("data: "))))
    return events


@pytest.fixture
def async_client_for(client_for):
    async def login(user) -> AsyncClient:
        client = AsyncClient()
        await sync_to_async(client.force_login)(user)
        return client

    return login


@pytest.mark.asyncio
async def test_a_streamed_run_sends_deltas_then_done(fake, prompt, async_client_for, editor):
    fake.script("primary", reply("Hello Ada, welcome!"))
    client = await async_client_for(editor)

    events = await read_events(
        client, run_url(prompt), {"values": {"shop": "P", "name": "Ada"}, "stream": True}
    )

    assert [name for name, _ in events[:-1]] == ["delta"] * (len(events) - 1)
    assert "".join(data["text"] for _, data in events[:-1]) == "Hello Ada, welcome!"
    assert events[-1][0] == "done"
    assert events[-1][1]["output_tokens"] > 0


@pytest.mark.asyncio
async def test_a_stream_cut_by_the_provider_ends_with_an_error_event(
    fake, prompt, async_client_for, editor
):
    fake.script("primary", cut("Hello Ada, welcome to our shop", after_words=2))
    client = await async_client_for(editor)

    events = await read_events(
        client, run_url(prompt), {"values": {"shop": "P", "name": "Ada"}, "stream": True}
    )

    name, data = events[-1]
    assert name == "error"
    assert data["error"] == "stream_broken"
    assert data["partial_text"] == "Hello Ada,"


@pytest.mark.asyncio
async def test_the_local_model_streams_in_the_running_product_with_no_key(
    assistant, async_client_for, editor, settings
):
    settings.OPENAI_API_KEY = None
    settings.OPENAI_BASE_URL = None
    local_prompt = await sync_to_async(services.prompt_create)(
        assistant=assistant,
        name="Capital",
        template="What is the capital of {{country}}? Answer in one sentence.",
        temperature=0,
        max_tokens=40,
    )
    client = await async_client_for(editor)

    events = await read_events(
        client, run_url(local_prompt), {"values": {"country": "France"}, "stream": True}
    )

    text = "".join(data["text"] for name, data in events if name == "delta")
    assert "Paris" in text
    assert events[-1][0] == "done"
    assert events[-1][1]["model"] == "local:smollm2-135m"
