"""What the dialog engine can do for one assistant: understand (the in-house NLU, and in the hybrid
mode an LLM for the turns it is unsure of), generate (the LLM gateway, streamed), answer from the
knowledge base and call the APIs a flow names (httpx, with the step's time limit)."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from typing import Any

import httpx
from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from django.conf import settings

from core.models import PromptVersion
from core.outbound import OutboundRefused, outbound_check
from gateway.calls import (
    Completion,
    Delta,
    Done,
    Structured,
    astream,
    prompt_call,
    structured,
)
from gateway.classify import llm_classify
from gateway.errors import GatewayError
from gateway.ledger import CallScope
from gateway.models import Purpose
from gateway.structured import schema_model
from knowledge.answering import Answer, kb_answer_stream
from knowledge.models import KnowledgeBase
from nlu.model import NluModel
from runtime.engine import Knowledge, StepFailed, Understanding, render
from runtime.hybrid import Hybrid, hybrid_decide

API_MAX_BYTES = 1_000_000


class AssistantCapabilities:
    def __init__(
        self,
        *,
        workspace_id: int,
        assistant_id: int,
        nlu: Callable[[], NluModel],
        prompts: dict[int, PromptVersion],
        knowledge_base_id: int | None = None,
        hybrid: Hybrid | None = None,
        threshold: float | None = None,
    ) -> None:
        self.workspace_id = workspace_id
        self.assistant_id = assistant_id
        self.nlu = nlu  # asked on every turn: a newly trained or published model is used at once
        self.prompts = prompts
        self.knowledge_base_id = knowledge_base_id
        self.hybrid = hybrid
        self.threshold = threshold  # the creator's; None: the model's calibrated one
        self.llm_calls: list[dict[str, Any]] = []

    def llm_calls_take(self) -> list[dict[str, Any]]:
        calls, self.llm_calls = self.llm_calls, []
        return calls

    def _used(self, purpose: str, completion: Completion | None, error: str = "") -> None:
        if completion is None:
            self.llm_calls.append({"purpose": purpose, "error": error})
            return
        self.llm_calls.append(
            {
                "purpose": purpose,
                "model": completion.model,
                "input_tokens": completion.input_tokens,
                "output_tokens": completion.output_tokens,
                "cost": None if completion.cost is None else str(completion.cost),
                "cached": completion.cached,
                "request_id": completion.request_id,
            }
        )

    async def understand(self, text: str) -> Understanding:
        understood = self._parse(text)
        if self.hybrid is None:  # most assistants: the NLU decides every turn
            return understood
        ranking = [(c["intent"], c["confidence"]) for c in understood.ranking]
        offered = self.hybrid.offered(ranking)
        if not offered:
            return understood
        scope = CallScope(
            Purpose.CLASSIFY, workspace_id=self.workspace_id, assistant_id=self.assistant_id
        )
        try:
            choice = await database_sync_to_async(llm_classify)(text, offered, scope=scope)
        except GatewayError as error:
            self._used(Purpose.CLASSIFY, None, error.kind)
            decision = hybrid_decide(understood.intent, None, error.kind)
        else:
            self._used(Purpose.CLASSIFY, choice.completion)
            decision = hybrid_decide(understood.intent, choice)
        if decision.decided_by != "llm":
            return replace(understood, decided_by=decision.decided_by)
        confidence = dict(ranking).get(decision.intent or "", understood.confidence)
        return replace(understood, intent=decision.intent, confidence=confidence, decided_by="llm")

    def _parse(self, text: str) -> Understanding:
        started = time.perf_counter()
        parsed = self.nlu().parse(text, threshold=self.threshold)
        shown = parsed.as_json()
        return Understanding(
            nlu_ms=round((time.perf_counter() - started) * 1000, 3),
            intent=parsed.intent,
            confidence=parsed.confidence,
            entities=shown["entities"],
            ranking=shown["ranking"],
        )

    async def generate(self, prompt_id: int, variables: dict[str, Any]) -> AsyncIterator[str]:
        version = self.prompts.get(prompt_id)
        if version is None:
            raise StepFailed(f"prompt {prompt_id} no longer exists")
        values = {name: variables.get(name, "") for name in version.variables}
        try:
            options = prompt_call(
                version,
                values,
                purpose=Purpose.GENERATE,
                workspace_id=self.workspace_id,
                assistant_id=self.assistant_id,
            )
        except GatewayError as error:
            self._used(Purpose.GENERATE, None, error.kind)
            raise StepFailed(str(error)) from error
        async for event in astream(**options):
            if isinstance(event, Delta):
                yield event.text
            elif isinstance(event, Done):
                self._used(Purpose.GENERATE, event.completion)
            else:
                self._used(Purpose.GENERATE, None, event.error.kind)
                raise StepFailed(f"{event.error.kind}: {event.error}")

    def structured(self, prompt_id: int) -> bool:
        version = self.prompts.get(prompt_id)
        return version is not None and version.output_schema is not None

    async def extract(self, prompt_id: int, variables: dict[str, Any]) -> dict[str, Any]:
        version = self.prompts.get(prompt_id)
        if version is None or version.output_schema is None:
            raise StepFailed(f"prompt {prompt_id} no longer has an output schema")
        values = {name: variables.get(name, "") for name in version.variables}

        def ask() -> Structured[Any]:
            options = prompt_call(
                version,
                values,
                purpose=Purpose.GENERATE,
                workspace_id=self.workspace_id,
                assistant_id=self.assistant_id,
            )
            messages = options.pop("messages")
            return structured(messages, schema_model(schema), cache="off", **options)

        schema = version.output_schema
        try:
            # Off the event loop, on a thread of its own: a slow model holds up no other chat.
            answer = await sync_to_async(ask, thread_sensitive=False)()
        except GatewayError as error:
            self._used(Purpose.GENERATE, None, error.kind)
            raise StepFailed(f"{error.kind}: {error}") from error
        self._used(Purpose.GENERATE, answer.completion)
        return dict(answer.value.root)

    async def call_api(self, step: dict[str, Any], variables: dict[str, Any]) -> Any:
        method = str(step.get("method", "GET")).upper()
        url = render(str(step.get("url", "")), variables)
        headers = {
            name: render(str(value), variables)
            for name, value in (step.get("headers") or {}).items()
        }
        body = render(str(step.get("body") or ""), variables)
        timeout = float(step.get("timeout_s", 5))
        try:
            allow = settings.API_CALL_PRIVATE_HOSTS
            await asyncio.to_thread(outbound_check, url, allow_private=allow)
        except OutboundRefused as refused:
            raise StepFailed(f"{method} {url} refused: {refused}") from None
        try:
            async with httpx.AsyncClient(timeout=timeout, follow_redirects=False) as client:
                response = await client.request(
                    method, url, headers=headers, content=body.encode() if body else None
                )
        except httpx.HTTPError as error:
            raise StepFailed(f"{method} {url} failed: {type(error).__name__}") from error
        if response.status_code >= 400:
            raise StepFailed(f"{method} {url} answered {response.status_code}")
        if len(response.content) > API_MAX_BYTES:
            raise StepFailed(f"{method} {url} answered more than {API_MAX_BYTES} bytes")
        try:
            return response.json() if response.content else None
        except json.JSONDecodeError as error:
            raise StepFailed(f"{method} {url} did not answer JSON") from error

    async def knowledge(
        self, question: str, tags: list[str] | None
    ) -> AsyncIterator[str | Knowledge]:
        if self.knowledge_base_id is None:
            yield Knowledge(found=False, reason="the assistant has no knowledge base")
            return
        # Read fresh each time: its revision says whether the search index is current.
        kb = await database_sync_to_async(
            KnowledgeBase.objects.select_related("assistant")
            .filter(pk=self.knowledge_base_id)
            .first
        )()
        if kb is None:
            yield Knowledge(found=False, reason="the knowledge base was deleted")
            return
        async for item in kb_answer_stream(kb, question, tags=tags):
            if isinstance(item, Answer):
                if item.completion is not None or item.reason.startswith("llm-error"):
                    self._used(Purpose.KB, item.completion, item.reason)
                yield Knowledge(
                    found=item.found,
                    text=item.text,
                    sources=item.sources if item.found else [],
                    complete=item.complete,
                    reason=item.reason,
                )
            else:
                yield item
