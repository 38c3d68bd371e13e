"""The fake provider, as the real ``openai`` SDK sees it."""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

import httpx
import openai
import pytest
from openai.types.chat import ChatCompletionChunk, ChatCompletionMessageParam

from benchmarks.fake_provider import (
    FakeProvider,
    cut,
    error,
    refusal,
    reply,
    slow,
    truncated,
)

MODEL = "gpt-4o-mini"
QUESTION: list[ChatCompletionMessageParam] = [
    {"role": "system", "content": "Be brief."},
    {"role": "user", "content": "What is the answer?"},
]  # six words in all


@pytest.fixture(scope="module")
def running_provider() -> Iterator[FakeProvider]:
    with FakeProvider() as provider:
        yield provider


@pytest.fixture
def provider(running_provider: FakeProvider) -> FakeProvider:
    running_provider.reset()
    return running_provider


@pytest.fixture
def client(provider: FakeProvider) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(base_url=provider.base_url, api_key="test", max_retries=0) as client:
        yield client


def ask(client: openai.OpenAI, model: str = MODEL) -> str | None:
    return client.chat.completions.create(model=model, messages=QUESTION).choices[0].message.content


def stream(client: openai.OpenAI, *, include_usage: bool = False) -> list[ChatCompletionChunk]:
    return list(
        client.chat.completions.create(
            model=MODEL,
            messages=QUESTION,
            stream=True,
            stream_options={"include_usage": include_usage},
        )
    )


def streamed_text(chunks: list[ChatCompletionChunk]) -> str:
    return "".join(chunk.choices[0].delta.content or "" for chunk in chunks if chunk.choices)


def raw_request(provider: FakeProvider, method: str, path: str, body: str) -> tuple[int, dict]:
    url = urlsplit(provider.base_url)
    connection = http.client.HTTPConnection(url.hostname or "", url.port)
    try:
        connection.request(method, path, body, {"Content-Type": "application/json"})
        response = connection.getresponse()
        return response.status, json.loads(response.read())
    finally:
        connection.close()


def test_a_plain_reply_carries_its_text_and_counted_usage(
    provider: FakeProvider, client: openai.OpenAI
) -> None:
    provider.script(MODEL, reply("Forty two, of course"))

    completion = client.chat.completions.create(model=MODEL, messages=QUESTION)

    assert completion.object == "chat.completion"
    assert completion.id.startswith("chatcmpl-")
    assert completion.model == MODEL
    assert completion.choices[0].message.content == "Forty two, of course"
    assert completion.choices[0].message.role == "assistant"
    assert completion.choices[0].finish_reason == "stop"
    assert completion.usage is not None
    assert (completion.usage.prompt_tokens, completion.usage.completion_tokens) == (6, 4)
    assert completion.usage.total_tokens == 10


def test_an_unscripted_model_gets_the_default_reply(client: openai.OpenAI) -> None:
    assert ask(client, "never-scripted") == "ok"


def test_a_streamed_reply_joins_back_to_the_exact_text(
    provider: FakeProvider, client: openai.OpenAI
) -> None:
    text = "  Hello,  world!\nHow are you? "
    provider.script(MODEL, reply(text))

    chunks = stream(client)

    assert streamed_text(chunks) == text
    assert len(chunks) > 3
    assert chunks[0].choices[0].delta.role == "assistant"
    assert all(chunk.object == "chat.completion.chunk" for chunk in chunks)
    assert [chunk.choices[0].finish_reason for chunk in chunks][-1] == "stop"
    assert all(chunk.usage is None for chunk in chunks)


def test_a_stream_sends_usage_last_when_asked(
    provider: FakeProvider, client: openai.OpenAI
) -> None:
    provider.script(MODEL, reply("three little words"))

    chunks = stream(client, include_usage=True)

    assert chunks[-1].choices == []
    assert chunks[-1].usage is not None
    assert (chunks[-1].usage.prompt_tokens, chunks[-1].usage.completion_tokens) == (6, 3)
    assert chunks[-2].choices[0].finish_reason == "stop"


def test_a_rate_limit_raises_with_its_retry_after_headers(
    provider: FakeProvider, client: openai.OpenAI
) -> None:
    provider.script(MODEL, error(429, retry_after=1.5))

    with pytest.raises(openai.RateLimitError) as raised:
        ask(client)

    assert raised.value.status_code == 429
    assert raised.value.code == "rate_limit_exceeded"
    assert raised.value.response.headers["retry-after"] == "2"
    assert raised.value.response.headers["retry-after-ms"] == "1500"


def test_a_server_error_raises_internal_server_error(
    provider: FakeProvider, client: openai.OpenAI
) -> None:
    provider.script(MODEL, error(500, message="upstream fell over"))

    with pytest.raises(openai.InternalServerError) as raised:
        ask(client)

    assert raised.value.status_code == 500
    assert "upstream fell over" in raised.value.message
    assert "retry-after" not in raised.value.response.headers


def test_a_slow_reply_trips_the_client_timeout(
    provider: FakeProvider, client: openai.OpenAI
) -> None:
    provider.script(MODEL, slow(1.0))

    with pytest.raises(openai.APITimeoutError):
        client.with_options(timeout=0.2).chat.completions.create(model=MODEL, messages=QUESTION)


def test_a_slow_reply_counts_its_wait_in_the_handling_time_header(
    provider: FakeProvider, client: openai.OpenAI
) -> None:
    provider.script(MODEL, slow(0.05, reply("late")), reply("prompt"))

    late = client.chat.completions.with_raw_response.create(model=MODEL, messages=QUESTION)
    prompt = client.chat.completions.with_raw_response.create(model=MODEL, messages=QUESTION)

    assert late.parse().choices[0].message.content == "late"
    assert float(late.headers["x-fake-provider-ms"]) >= 50
    assert prompt.parse().choices[0].message.content == "prompt"
    assert float(prompt.headers["x-fake-provider-ms"]) < 50


def test_a_slow_stream_still_delivers_the_whole_text(
    provider: FakeProvider, client: openai.OpenAI
) -> None:
    provider.script(MODEL, slow(0.05, truncated("cut short")))

    chunks = stream(client)

    assert streamed_text(chunks) == "cut short"
    assert chunks[-1].choices[0].finish_reason == "length"


def test_a_cut_stream_ends_without_a_finish_reason(
    provider: FakeProvider, client: openai.OpenAI
) -> None:
    provider.script(MODEL, cut("The answer is forty", after_words=2))
    chunks: list[ChatCompletionChunk] = []

    with pytest.raises((httpx.TransportError, openai.APIConnectionError)):  # noqa: PT012
        for chunk in client.chat.completions.create(model=MODEL, messages=QUESTION, stream=True):
            chunks.append(chunk)

    assert streamed_text(chunks) == "The answer"
    assert all(choice.finish_reason is None for chunk in chunks for choice in chunk.choices)
    assert ask(client) == "ok"


def test_a_cut_without_streaming_drops_the_connection_before_any_response(
    provider: FakeProvider, client: openai.OpenAI
) -> None:
    provider.script(MODEL, cut())

    with pytest.raises(openai.APIConnectionError):
        ask(client)

    assert ask(client) == "ok"


def test_a_refusal_shows_up_as_the_message_refusal(
    provider: FakeProvider, client: openai.OpenAI
) -> None:
    provider.script(MODEL, refusal("I won't."))

    message = client.chat.completions.create(model=MODEL, messages=QUESTION).choices[0].message

    assert message.content is None
    assert message.refusal == "I won't."


def test_a_streamed_refusal_arrives_in_refusal_deltas(
    provider: FakeProvider, client: openai.OpenAI
) -> None:
    provider.script(MODEL, refusal("I can't help with that."))

    chunks = stream(client)

    assert "".join(chunk.choices[0].delta.refusal or "" for chunk in chunks) == (
        "I can't help with that."
    )
    assert streamed_text(chunks) == ""
    assert chunks[-1].choices[0].finish_reason == "stop"


def test_a_truncated_reply_finishes_with_length(
    provider: FakeProvider, client: openai.OpenAI
) -> None:
    provider.script(MODEL, truncated())

    choice = client.chat.completions.create(model=MODEL, messages=QUESTION).choices[0]

    assert choice.message.content == "The answer is"
    assert choice.finish_reason == "length"


def test_wrong_usage_numbers_pass_through_verbatim(
    provider: FakeProvider, client: openai.OpenAI
) -> None:
    provider.script(MODEL, reply("fine", usage=(-5, 0)), reply("fine", usage=None))

    wrong = client.chat.completions.create(model=MODEL, messages=QUESTION).usage
    missing = client.chat.completions.create(model=MODEL, messages=QUESTION).usage

    assert wrong is not None
    assert (wrong.prompt_tokens, wrong.completion_tokens, wrong.total_tokens) == (-5, 0, -5)
    assert missing is None


def test_scripts_are_consumed_in_order_and_per_model(
    provider: FakeProvider, client: openai.OpenAI
) -> None:
    provider.script("model-a", reply("a1"), reply("a2"))
    provider.script("model-b", reply("b1"))
    provider.script("model-a", reply("a3"))

    answers = [ask(client, model) for model in ["model-b", "model-a", "model-a", "model-b"]]
    answers.append(ask(client, "model-a"))

    assert answers == ["b1", "a1", "a2", "ok", "a3"]


def test_every_request_body_is_recorded_until_reset(
    provider: FakeProvider, client: openai.OpenAI
) -> None:
    ask(client, "first")
    stream(client, include_usage=True)

    recorded = provider.requests
    provider.reset()

    assert [body["model"] for body in recorded] == ["first", MODEL]
    assert recorded[0]["messages"] == QUESTION
    assert recorded[1]["stream"] is True
    assert recorded[1]["stream_options"] == {"include_usage": True}
    assert provider.requests == []


def test_fifty_sequential_calls_share_one_kept_alive_connection(
    provider: FakeProvider, client: openai.OpenAI
) -> None:
    before = provider.connections_opened

    answers = [ask(client) for _ in range(50)]

    assert answers == ["ok"] * 50
    assert provider.connections_opened - before == 1


def test_twenty_concurrent_calls_all_succeed(provider: FakeProvider, client: openai.OpenAI) -> None:
    for n in range(20):
        provider.script(f"model-{n}", reply(f"answer {n}"))

    with ThreadPoolExecutor(max_workers=20) as pool:
        answers = list(pool.map(lambda n: ask(client, f"model-{n}"), range(20)))

    assert answers == [f"answer {n}" for n in range(20)]
    assert len(provider.requests) == 20


def test_the_model_list_names_the_scripted_models(
    provider: FakeProvider, client: openai.OpenAI
) -> None:
    provider.script("model-b", reply())
    provider.script("model-a", reply())

    assert [model.id for model in client.models.list()] == ["model-a", "model-b"]


def test_an_unknown_path_is_a_404_json_error(provider: FakeProvider) -> None:
    status, body = raw_request(provider, "POST", "/v1/completions", "{}")

    assert status == 404
    assert body["error"]["type"] == "invalid_request_error"


def test_a_malformed_json_body_is_a_400_json_error(provider: FakeProvider) -> None:
    status, body = raw_request(provider, "POST", "/v1/chat/completions", '{"model": ')

    assert status == 400
    assert "JSON" in body["error"]["message"]
    assert provider.requests == []
