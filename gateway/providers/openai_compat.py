"""Any OpenAI-compatible endpoint (OpenAI, Azure OpenAI, vLLM, Ollama, llama.cpp server).

The SDK's own retries are off: the gateway retries, cools down and falls back itself, and records
every attempt.
"""

from __future__ import annotations

import email.utils
import os
import time
from collections.abc import Iterator
from typing import Any

import httpx
import openai

from gateway.providers.base import Delta, ProviderError, ProviderRequest, ProviderResult

CONNECT_S = 5.0


class OpenAICompatibleClient:
    def __init__(self, *, base_url: str, api_key_env: str) -> None:
        self._client = openai.OpenAI(
            base_url=base_url or None,
            # Local servers (Ollama, vLLM) accept any key; the SDK insists on one.
            api_key=os.environ.get(api_key_env or "OPENAI_API_KEY") or "not-needed",
            max_retries=0,
        )

    def complete(self, request: ProviderRequest) -> ProviderResult:
        started = time.perf_counter()
        try:
            # The SDK's client (auth, base URL, Azure routing, typed errors) without its typed
            # request/response models, which cost more than the rest of the gateway together.
            response = self._client.post(
                "/chat/completions",
                body=_arguments(request),
                cast_to=httpx.Response,
                options={"timeout": httpx.Timeout(request.total_timeout, connect=CONNECT_S)},
            )
            data = response.json()
            choice = data["choices"][0]
            message = choice["message"]
        except openai.APIError as error:
            raise _provider_error(error) from error
        except (ValueError, KeyError, IndexError, TypeError) as error:
            raise ProviderError(
                "bad_response", f"the reply is not a chat completion ({error})", retryable=True
            ) from error
        usage = data.get("usage") or {}
        return ProviderResult(
            text=message.get("content") or "",
            refusal=message.get("refusal") or "",
            finish_reason=choice.get("finish_reason") or "",
            input_tokens=_count(usage.get("prompt_tokens")),
            output_tokens=_count(usage.get("completion_tokens")),
            first_token_s=time.perf_counter() - started,
        )

    def stream(self, request: ProviderRequest) -> Iterator[Delta | ProviderResult]:
        started = time.perf_counter()
        deadline = started + request.total_timeout
        # The read timeout bounds the wait for the first token and every gap after it.
        read_timeout = min(request.first_token_timeout, request.total_timeout)
        received: list[str] = []
        refusal: list[str] = []
        result = ProviderResult(text="", finish_reason="")
        try:
            chunks = self._client.chat.completions.create(
                **_arguments(request),
                stream=True,
                stream_options={"include_usage": True},
                timeout=httpx.Timeout(read_timeout, connect=CONNECT_S),
            )
            with chunks:
                for chunk in chunks:
                    if chunk.usage:
                        result.input_tokens = chunk.usage.prompt_tokens
                        result.output_tokens = chunk.usage.completion_tokens
                    for choice in chunk.choices[:1]:
                        text = choice.delta.content or ""
                        refused = getattr(choice.delta, "refusal", None) or ""
                        if (text or refused) and result.first_token_s is None:
                            result.first_token_s = time.perf_counter() - started
                        if text:
                            received.append(text)
                            yield Delta(text)
                        if refused:
                            refusal.append(refused)
                        if choice.finish_reason:
                            result.finish_reason = choice.finish_reason
                    if time.perf_counter() > deadline:
                        raise ProviderError(
                            "timeout", "the stream ran past its time limit", retryable=True
                        )
        except (openai.APIError, httpx.HTTPError) as error:
            # Once the body streams, httpx's own errors come through unwrapped by the SDK.
            failure = _provider_error(error)
            if failure.kind == "timeout" and result.first_token_s is None:
                failure.kind = "first_token_timeout"
            failure.partial = received
            raise failure from error
        except ProviderError as failure:
            failure.partial = received
            raise
        if not result.finish_reason:
            raise ProviderError(
                "stream_broken",
                "the stream ended before the model said it had finished",
                retryable=True,
                partial=received,
            )
        result.text = "".join(received)
        result.refusal = "".join(refusal)
        yield result


def _count(value: object) -> int | None:
    return value if isinstance(value, int) else None


def _arguments(request: ProviderRequest) -> dict[str, Any]:
    arguments: dict[str, Any] = {
        "model": request.model,
        "messages": request.messages,
        "temperature": request.temperature,
        "max_tokens": request.max_tokens,
    }
    if request.json_schema is not None:
        arguments["response_format"] = {
            "type": "json_schema",
            "json_schema": {"name": "answer", "schema": request.json_schema, "strict": True},
        }
    elif request.json_mode:
        arguments["response_format"] = {"type": "json_object"}
    return arguments


def _provider_error(error: openai.APIError | httpx.HTTPError) -> ProviderError:
    if isinstance(error, openai.APITimeoutError | httpx.TimeoutException):
        return ProviderError("timeout", "the provider did not answer in time", retryable=True)
    if isinstance(error, httpx.HTTPError):
        return ProviderError("stream_broken", str(error), retryable=True)
    if isinstance(error, openai.APIConnectionError):
        return ProviderError("connection", str(error.__cause__ or error), retryable=True)
    if isinstance(error, openai.APIStatusError):
        status = error.status_code
        message = _error_message(error)
        if status == 429:
            return ProviderError(
                "rate_limited",
                message,
                retryable=True,
                retry_after=_retry_after(error.response.headers),
                status=status,
            )
        if status >= 500 or status in (408, 409):
            return ProviderError(
                "server_error",
                message,
                retryable=True,
                retry_after=_retry_after(error.response.headers),
                status=status,
            )
        kind = "auth" if status in (401, 403) else "bad_request"
        return ProviderError(kind, message, retryable=False, status=status)
    return ProviderError("bad_response", str(error), retryable=True)


def _error_message(error: openai.APIStatusError) -> str:
    body = error.body
    if isinstance(body, dict) and isinstance(body.get("message"), str):
        return f"HTTP {error.status_code}: {body['message']}"
    return f"HTTP {error.status_code}"


def _retry_after(headers: httpx.Headers) -> float | None:
    """Seconds to wait: OpenAI's ``retry-after-ms``, else ``Retry-After`` (seconds or a date)."""
    if value := headers.get("retry-after-ms"):
        try:
            return max(0.0, float(value) / 1000)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        parsed = email.utils.parsedate_to_datetime(value) if value else None
        return max(0.0, parsed.timestamp() - time.time()) if parsed else None
