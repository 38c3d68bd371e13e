"""The hybrid mode: turns the NLU is unsure of are decided by an LLM among the NLU's best intents;
on any LLM failure the NLU's answer stands, and each turn says who decided."""

from __future__ import annotations

import pytest
from asgiref.sync import sync_to_async

from benchmarks.fake_provider import error, reply
from builder.demo_content import FLOW, INTENTS
from core.models import Assistant
from runtime.capabilities import AssistantCapabilities
from runtime.engine import Engine, State
from runtime.hybrid import Hybrid

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]

TEXT = "I'd like something to eat delivered"
DESCRIPTIONS = {name: description for name, (description, _) in INTENTS.items()}


@pytest.fixture
def llm_assistant(assistant: Assistant, primary) -> Assistant:
    assistant.llm_model = primary
    assistant.save()
    return assistant


async def hear(nlu, assistant: Assistant, band: tuple[float, float], text: str = TEXT):
    capabilities = AssistantCapabilities(
        workspace_id=assistant.workspace_id,
        assistant_id=assistant.pk,
        nlu=lambda: nlu,
        prompts={},
        hybrid=Hybrid(*band, DESCRIPTIONS),
    )
    engine, state, frames = Engine(FLOW, capabilities), State(), []

    async def emit(frame):
        frames.append(frame)

    await engine.start(state, emit)
    turn = await engine.hear(text, state, emit)
    turn.llm = capabilities.llm_calls_take()
    return turn


async def test_an_unsure_turn_is_decided_by_the_llm_among_the_nlu_candidates(
    demo_nlu, llm_assistant, fake
):
    ranking = demo_nlu.parse(TEXT).ranking
    second = ranking[1].name  # the LLM overrules the NLU's first choice
    fake.script("primary", reply(f'{{"intent": "{second}"}}'))

    turn = await hear(demo_nlu, llm_assistant, (0.0, 1.0))

    assert turn.intent == second
    assert turn.decided_by == "llm"
    assert [(call["purpose"], call["model"]) for call in turn.llm] == [
        ("classify", "loopback:primary")
    ]
    (request,) = fake.requests
    system = request["messages"][0]["content"]
    for candidate in ranking[:3]:
        assert f"- {candidate.name}: {DESCRIPTIONS[candidate.name]}" in system
    assert ranking[3].name not in system  # only the NLU's best three are offered


async def test_the_llm_saying_none_makes_it_a_no_match(demo_nlu, llm_assistant, fake):
    fake.script("primary", reply('{"intent": "none"}'))

    turn = await hear(demo_nlu, llm_assistant, (0.0, 1.0))

    assert turn.intent is None
    assert turn.decided_by == "llm"
    assert turn.path == "no-match"


async def test_an_llm_failure_or_an_unlisted_answer_leaves_the_nlu_decision(
    demo_nlu, llm_assistant, fake
):
    nlu_intent = demo_nlu.parse(TEXT).intent
    fake.script("primary", *[error(500)] * 3)
    fake.script("backup", *[error(500)] * 3)

    failed = await hear(demo_nlu, llm_assistant, (0.0, 1.0))
    fake.script("primary", reply('{"intent": "book_a_flight"}'))
    unlisted = await hear(demo_nlu, llm_assistant, (0.0, 1.0), text=TEXT + " now")

    assert failed.intent == nlu_intent
    assert failed.decided_by.startswith("nlu (llm failed")
    assert unlisted.decided_by == "nlu (llm chose no listed intent)"


async def test_a_confident_turn_never_reaches_the_llm(demo_nlu, llm_assistant, fake):
    turn = await hear(demo_nlu, llm_assistant, (0.0, 0.05), text="a large pepperoni pizza please")

    assert turn.intent == "order_pizza"
    assert turn.decided_by == "nlu"
    assert fake.requests == []
    assert turn.llm == []


async def test_the_band_is_saved_through_the_api_and_checked(llm_assistant, api_for, editor):
    api = await sync_to_async(api_for)(editor)
    url = f"/api/assistants/{llm_assistant.pk}/"

    bad = await sync_to_async(api.patch)(
        url, {"hybrid_low": 0.8, "hybrid_high": 0.4}, format="json"
    )
    good = await sync_to_async(api.patch)(
        url, {"hybrid_enabled": True, "hybrid_low": 0.25, "hybrid_high": 0.6}, format="json"
    )

    assert bad.status_code == 400
    assert "0 ≤ low < high ≤ 1" in str(bad.json())
    assert good.status_code == 200
    saved = await sync_to_async(Assistant.objects.get)(pk=llm_assistant.pk)
    assert (saved.hybrid_enabled, saved.hybrid_low, saved.hybrid_high) == (True, 0.25, 0.6)
