"""The bundled local model, run for real: no network, no key."""

from __future__ import annotations

import pydantic
import pytest

from gateway.calls import CallScope, Delta, Done, astream, complete, stream, structured
from gateway.catalogue import LOCAL_MODEL_KEY
from gateway.models import Attempt, Outcome

pytestmark = pytest.mark.django_db(transaction=True)

SCOPE = CallScope(purpose="test")


def test_the_local_model_answers_a_chat_completion_with_no_provider_configured():
    answer = complete(
        [{"role": "user", "content": "What is the capital of France? Answer in one sentence."}],
        scope=SCOPE,
        max_tokens=48,
        temperature=0,
        cache="off",
    )

    assert answer.model == LOCAL_MODEL_KEY
    assert "Paris" in answer.text
    assert answer.cost == 0
    assert answer.output_tokens > 0


def test_the_local_model_streams_token_by_token():
    events = list(
        stream(
            [{"role": "user", "content": "Count from one to five in words."}],
            scope=SCOPE,
            max_tokens=48,
            temperature=0,
            cache="off",
        )
    )

    deltas = [event for event in events if isinstance(event, Delta)]
    assert len(deltas) >= 5
    assert isinstance(events[-1], Done)
    assert events[-1].completion.text == "".join(delta.text for delta in deltas)
    row = Attempt.objects.get(call_id=events[-1].completion.request_id)
    assert row.outcome == Outcome.OK
    assert row.first_token_ms is not None


class Pizza(pydantic.BaseModel):
    size: str
    topping: str


def test_the_local_model_gives_schema_valid_json():
    result = structured(
        [{"role": "user", "content": "A large pizza with mushrooms."}],
        Pizza,
        scope=SCOPE,
        max_tokens=60,
        cache="off",
    )

    assert isinstance(result.value, Pizza)


@pytest.mark.asyncio
async def test_async_callers_receive_the_same_stream():
    events = [
        event
        async for event in astream(
            [{"role": "user", "content": "Say hello."}], scope=SCOPE, max_tokens=12, cache="off"
        )
    ]

    assert any(isinstance(event, Delta) for event in events)
    assert isinstance(events[-1], Done)
