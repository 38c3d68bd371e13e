"""What the dialog engine can do for one assistant: understand (the in-house NLU), generate (the
LLM gateway, streamed), answer from the knowledge base and call the APIs a flow names (httpx,
with the step's time limit)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
from channels.db import database_sync_to_async

from builder.models import PromptVersion
from gateway.calls import Delta, Done, astream, prompt_call
from gateway.errors import GatewayError
from gateway.models import Purpose
from knowledge.answering import Answer, kb_answer_stream
from knowledge.models import KnowledgeBase
from nlu.model import NluModel
from runtime.engine import Knowledge, StepFailed, Understanding, render

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
    ) -> None:
        self.workspace_id = workspace_id
        self.assistant_id = assistant_id
        self.nlu = nlu  # asked on every turn: a newly trained or published model is used at once
        self.prompts = prompts
        self.knowledge_base_id = knowledge_base_id

    def understand(self, text: str) -> Understanding:
        parsed = self.nlu().parse(text)
        return Understanding(
            intent=parsed.intent,
            confidence=parsed.confidence,
            entities=[
                {
                    "entity": entity.entity,
                    "value": entity.value,
                    "text": entity.text,
                    "start": entity.start,
                    "end": entity.end,
                }
                for entity in parsed.entities
            ],
            ranking=[
                {"intent": match.name, "confidence": round(match.confidence, 4)}
                for match in parsed.ranking
            ],
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
            raise StepFailed(str(error)) from error
        async for event in astream(**options):
            if isinstance(event, Delta):
                yield event.text
            elif not isinstance(event, Done):
                raise StepFailed(f"{event.error.kind}: {event.error}")

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
                yield Knowledge(
                    found=item.found,
                    text=item.text,
                    sources=item.sources if item.found else [],
                    complete=item.complete,
                    reason=item.reason,
                )
            else:
                yield item
