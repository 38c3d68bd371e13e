"""A generate step whose prompt has an output schema: the reply is a validated JSON object kept
in variables; when no valid object comes back the flow takes the step's failure path, and the
failure shows in the prompt's backtests, one click away from a prompt test case."""

from __future__ import annotations

import json
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from django.core.exceptions import ValidationError

from benchmarks.fake_provider import reply
from builder import services
from core.models import Assistant, Prompt
from gateway.models import Call
from quality.services.backtests import backtests
from quality.services.prompt_tests import prompt_tests_run
from runtime.capabilities import AssistantCapabilities
from runtime.engine import Engine, State

pytestmark = pytest.mark.django_db(transaction=True)

SCHEMA = {
    "type": "object",
    "properties": {"size": {"enum": ["small", "medium", "large"]}, "count": {"type": "integer"}},
    "required": ["size"],
}


@pytest.fixture
def reader(assistant: Assistant, primary) -> Prompt:
    return services.prompt_create(
        assistant=assistant,
        name="order reader",
        template="Read the pizza size from: {{ last_utterance }}",
        model=primary,
        output_schema=SCHEMA,
    )


def flow(prompt: Prompt) -> dict[str, Any]:
    return {
        "start": "read",
        "steps": [
            {
                "id": "read",
                "type": "generate",
                "prompt": prompt.pk,
                "variable": "order",
                "response_map": {"size": "size"},
                "next": "confirm",
                "on_error": "sorry",
            },
            {"id": "confirm", "type": "message", "text": "A {{size}} one.", "next": "bye"},
            {"id": "sorry", "type": "message", "text": "Sorry, which size?", "next": "bye"},
            {"id": "bye", "type": "end"},
        ],
    }


def run_flow(prompt: Prompt) -> tuple[list[dict[str, Any]], State, Any]:
    assistant = prompt.assistant
    capabilities = AssistantCapabilities(
        workspace_id=assistant.workspace_id,
        assistant_id=assistant.pk,
        nlu=lambda: None,  # type: ignore[arg-type, return-value]
        prompts={prompt.pk: prompt.versions.select_related("model").get()},
    )
    frames: list[dict[str, Any]] = []

    async def emit(frame: dict[str, Any]) -> None:
        frames.append(frame)

    state = State(variables={"last_utterance": "a big one please"})
    turn = async_to_sync(Engine(flow(prompt), capabilities).start)(state, emit)
    turn.llm = capabilities.llm_calls_take()
    return frames, state, turn


def test_a_structured_reply_fills_variables_and_is_not_shown(reader, fake):
    fake.script("primary", reply('{"size": "large", "count": 1}'))

    frames, state, turn = run_flow(reader)

    assert [frame.get("text") for frame in frames if frame["type"] == "text"] == ["A large one."]
    assert not [frame for frame in frames if frame["type"].startswith("stream")]
    assert state.variables["size"] == "large"
    assert json.loads(state.variables["order"]) == {"size": "large", "count": 1}
    assert turn.llm[0]["purpose"] == "generate"
    request = fake.requests[-1]
    assert request["response_format"]["type"] == "json_schema"


def test_an_invalid_structured_reply_takes_the_failure_path_and_becomes_a_backtest(
    reader, fake, client_for, editor
):
    wrong = reply('{"size": "huge"}')
    fake.script("primary", wrong, wrong, wrong)
    fake.script("backup", wrong, wrong, wrong)

    frames, state, turn = run_flow(reader)

    assert [frame.get("text") for frame in frames if frame["type"] == "text"] == [
        "Sorry, which size?"
    ]
    assert "size" not in state.variables
    assert "invalid_output" in turn.errors[0]
    call = Call.objects.get(prompt_version__prompt=reader)
    assert call.outcome == "invalid"
    (row,) = backtests(reader)
    assert (row["call"].pk, row["problem"]) == (call.pk, "invalid")
    assert "Make a test case" in client_for(editor).get(f"/prompts/{reader.pk}/").content.decode()

    client_for(editor).post(f"/prompts/{reader.pk}/tests/", {"action": "backtest", "call": call.pk})

    case = reader.test_cases.get()
    assert case.values == {"last_utterance": "a big one please"}
    (check,) = case.checks
    assert check["kind"] == "json"
    assert json.loads(check["value"]) == SCHEMA  # the schema (PostgreSQL keeps its own key order)
    assert case.source_call_id == call.pk
    # The case replays the failure until the prompt gets it right.
    version = reader.versions.get()
    fake.script("primary", wrong, wrong, wrong)
    fake.script("backup", wrong, wrong, wrong)
    failing = prompt_tests_run(version, [case])["models"][0]["cases"][0]
    assert failing["passed"] == 0
    assert failing["failures"][0]["reasons"][0].startswith("invalid output: ")
    fake.script("primary", reply('{"size": "large"}'))
    assert prompt_tests_run(version, [case])["models"][0]["cases"][0]["passed"] == 1


@pytest.mark.parametrize(
    ("schema", "message"),
    [
        ({"type": "array"}, "describes a JSON object"),
        ({"type": "object", "properties": {"a": {"type": "nope"}}}, "is not valid"),
        ("a string", "describes a JSON object"),
    ],
)
def test_a_bad_output_schema_is_refused(assistant, schema, message):
    with pytest.raises(ValidationError, match=message):
        services.prompt_create(assistant=assistant, name="p", template="t", output_schema=schema)
