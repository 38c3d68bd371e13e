"""The knowledge base in a conversation: the fallback before the global no-match reply, and the
knowledge-base step with its "no answer" path. Answers stream with their sources."""

from __future__ import annotations

from typing import Any

import pytest
from asgiref.sync import sync_to_async

from benchmarks.fake_provider import reply
from core.models import Assistant
from knowledge.services import document_upload, knowledge_base_of
from runtime.capabilities import AssistantCapabilities
from runtime.engine import DEFAULT_NO_MATCH, Engine, State

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]

DOUGH = b"# Our kitchen\n\nOur pizza dough is made fresh every morning with Italian 00 flour.\n"
QUESTION = "what kind of flour goes into the dough"


def graph(**welcome: Any) -> dict[str, Any]:
    return {
        "start": "welcome",
        "steps": [
            {"id": "welcome", "type": "message", "text": "Hi! Ask me anything.", **welcome},
            {
                "id": "ask",
                "type": "kb_answer",
                "variable": "answer",
                "next": "more",
                "no_answer": "sorry",
            },
            {"id": "more", "type": "message", "text": "Anything else?"},
            {"id": "sorry", "type": "message", "text": "I could not find that, sorry."},
        ],
    }


@pytest.fixture
def kitchen(assistant: Assistant, primary) -> int:
    assistant.llm_model = primary
    assistant.save()
    kb = knowledge_base_of(assistant)
    document_upload(kb, name="kitchen.md", data=DOUGH)
    return kb.pk


async def conversation(flow, nlu, kb_id: int, text: str):
    capabilities = AssistantCapabilities(
        workspace_id=await sync_to_async(lambda: Assistant.objects.get().workspace_id)(),
        assistant_id=await sync_to_async(lambda: Assistant.objects.get().pk)(),
        nlu=lambda: nlu,
        prompts={},
        knowledge_base_id=kb_id,
    )
    engine, state, frames = Engine(flow, capabilities), State(), []

    async def emit(frame):
        frames.append(frame)

    await engine.start(state, emit)
    frames.clear()
    turn = await engine.hear(text, state, emit)
    turn.llm = capabilities.llm_calls_take()  # as the dialog service does for the transcript
    return turn, state, frames


async def test_an_unmatched_question_is_answered_from_the_knowledge_base(demo_nlu, kitchen, fake):
    fake.script("primary", reply("The dough is made with Italian 00 flour [1]."))

    turn, state, frames = await conversation(graph(), demo_nlu, kitchen, QUESTION)

    assert turn.path == "knowledge"  # no intent of the waiting step or a global trigger
    assert next(f["type"] for f in frames) == "stream.start"
    assert "".join(f["text"] for f in frames if f["type"] == "stream.chunk") == (
        "The dough is made with Italian 00 flour [1]."
    )
    end = frames[-1]
    assert end["type"] == "stream.end"
    assert end["complete"]
    assert [(s["n"], s["document"]) for s in end["sources"]] == [(1, "kitchen.md")]
    assert turn.knowledge["found"]
    assert turn.knowledge["question"] == QUESTION
    assert state.step == "welcome"  # the conversation carries on where it was
    (call,) = turn.llm
    assert (call["purpose"], call["model"]) == ("kb", "loopback:primary")
    assert call["input_tokens"] > 0
    assert call["output_tokens"] > 0
    assert call["cost"] is not None


async def test_no_answer_falls_through_to_the_global_no_match_reply(demo_nlu, kitchen, fake):
    fake.script("primary", reply("NOT_FOUND"))

    turn, _, frames = await conversation(graph(), demo_nlu, kitchen, QUESTION)

    assert turn.path == "fallback"
    assert frames == [{"type": "text", "text": DEFAULT_NO_MATCH, "buttons": []}]
    assert turn.knowledge["found"] is False


async def test_the_knowledge_base_step_takes_next_or_its_no_answer_path(demo_nlu, kitchen, fake):
    fake.script("primary", reply("Italian 00 flour, fresh every morning [1]."), reply("NOT_FOUND"))

    found, state, frames = await conversation(graph(no_match="ask"), demo_nlu, kitchen, QUESTION)
    other = "which flour is used for the pizza dough"  # another question: not the cached answer
    missing, _, later = await conversation(graph(no_match="ask"), demo_nlu, kitchen, other)

    assert found.steps == ["ask", "more"]
    assert state.variables["answer"] == "Italian 00 flour, fresh every morning [1]."
    assert frames[-1] == {"type": "text", "text": "Anything else?", "buttons": []}
    assert missing.steps == ["ask", "sorry"]
    assert [f["type"] for f in later] == ["text"]  # no stream for a "not found"
