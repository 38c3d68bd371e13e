"""The dialog engine walking the demo pizza flow, understood by the real in-house NLU."""

from __future__ import annotations

import copy
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from builder.demo_content import FLOW
from runtime.capabilities import AssistantCapabilities
from runtime.engine import Engine, State, json_path, render


class Chat:
    """An engine, its state and everything it said."""

    def __init__(self, engine: Engine) -> None:
        self.engine, self.state = engine, State()
        self.frames: list[dict[str, Any]] = []

    async def emit(self, frame: dict[str, Any]) -> None:
        self.frames.append(frame)

    def said(self) -> list[str]:
        texts = [f["text"] for f in self.frames if f["type"] == "text"]
        self.frames = []
        return texts

    async def start(self) -> list[str]:
        await self.engine.start(self.state, self.emit)
        return self.said()

    async def say(self, text: str) -> list[str]:
        self.turn = await self.engine.hear(text, self.state, self.emit)
        return self.said()


def chat_with(graph: dict[str, Any], nlu, prompts=None, required=None) -> Chat:
    capabilities = AssistantCapabilities(
        workspace_id=1, assistant_id=1, nlu=lambda: nlu, prompts=prompts or {}
    )
    return Chat(Engine(graph, capabilities, required=required))


@pytest.mark.asyncio
async def test_the_conversation_starts_with_the_welcome_and_its_buttons(demo_nlu):
    chat = chat_with(FLOW, demo_nlu)

    await chat.engine.start(chat.state, chat.emit)

    (welcome,) = chat.frames
    assert welcome["text"] == "Welcome to Pizza Palace! What can I do for you?"
    assert [b["label"] for b in welcome["buttons"]] == [
        "Order a pizza",
        "Track my order",
        "Opening hours",
    ]
    assert chat.state.step == "welcome"


@pytest.mark.asyncio
async def test_an_order_said_in_one_go_skips_the_questions_already_answered(demo_nlu):
    chat = chat_with(FLOW, demo_nlu)
    await chat.start()

    said = await chat.say("I want a large pepperoni pizza")

    assert said == [
        "One large pepperoni pizza, coming up! A large comes with free garlic bread. Anything else?"
    ]
    assert chat.turn.path == "global-intent"
    assert chat.turn.intent == "order_pizza"
    assert chat.turn.steps == ["ask_size", "ask_topping", "is_large", "upsell", "confirm"]


@pytest.mark.asyncio
async def test_an_order_step_by_step_with_a_reprompt(demo_nlu):
    chat = chat_with(FLOW, demo_nlu)
    await chat.start()

    assert await chat.say("I'd like to order food") == [
        "Which size would you like: small, medium or large?"
    ]
    assert await chat.say("hmm not sure") == ["Sorry, we have small, medium and large."]
    assert chat.turn.path == "reprompt"
    assert await chat.say("medium please") == [
        "And which pizza? Margherita, pepperoni, hawaiian, veggie or mushroom."
    ]
    assert await chat.say("mushrooms") == ["One medium mushroom pizza, coming up! Anything else?"]
    assert chat.state.variables["size"] == "medium"


@pytest.mark.asyncio
async def test_a_button_click_follows_its_connection(demo_nlu):
    chat = chat_with(FLOW, demo_nlu)
    await chat.start()

    turn = await chat.engine.click(2, chat.state, chat.emit)

    assert chat.said() == ["We are open every day from 11:00 to 23:00."]
    assert turn.path == "button"


@pytest.mark.asyncio
async def test_typing_a_buttons_label_is_a_click(demo_nlu):
    chat = chat_with(FLOW, demo_nlu)
    await chat.start()

    assert await chat.say("track my order") == [
        "Your order left the kitchen and will be with you in about 20 minutes."
    ]


@pytest.mark.asyncio
async def test_something_the_assistant_cannot_understand_takes_the_no_match_path(demo_nlu):
    chat = chat_with(FLOW, demo_nlu)
    await chat.start()

    said = await chat.say("what is the airspeed velocity of an unladen swallow")

    assert said == ["Sorry, I didn't get that. I can take an order, track one or give our hours."]
    assert chat.turn.path == "no-match"


@pytest.mark.asyncio
async def test_asking_for_a_person_hands_off_and_ends(demo_nlu):
    chat = chat_with(FLOW, demo_nlu)
    await chat.start()

    chat.turn = await chat.engine.hear("can I speak to a real person", chat.state, chat.emit)

    assert [frame["type"] for frame in chat.frames] == ["text", "handoff", "end"]
    assert chat.turn.handoff is True
    assert chat.state.ended is True
    chat.said()
    assert await chat.say("hello") == ["Welcome to Pizza Palace! What can I do for you?"]


@pytest.mark.asyncio
async def test_an_intent_asks_for_its_required_entities_before_its_step_runs(demo_nlu):
    required = {"order_pizza": [{"entity": "topping", "prompt": "Which pizza would you like?"}]}
    chat = chat_with(FLOW, demo_nlu, required=required)
    await chat.start()

    assert await chat.say("I want a large pizza") == ["Which pizza would you like?"]
    assert await chat.say("hmm") == ["Which pizza would you like?"]
    assert chat.turn.path == "reprompt"
    said = await chat.say("pepperoni")

    assert chat.turn.path == "required-entities"
    assert said == [
        "One large pepperoni pizza, coming up! A large comes with free garlic bread. Anything else?"
    ]


@pytest.mark.asyncio
async def test_asking_something_else_while_required_entities_are_missing_moves_on(demo_nlu):
    required = {"order_pizza": [{"entity": "topping", "prompt": "Which pizza would you like?"}]}
    chat = chat_with(FLOW, demo_nlu, required=required)
    await chat.start()
    await chat.say("I want a large pizza")

    assert await chat.say("when are you open") == ["We are open every day from 11:00 to 23:00."]
    assert chat.state.pending is None


@pytest.fixture
def orders_api(settings: Any) -> Iterator[str]:
    """A real HTTP service on loopback for API-call steps: /orders/<n> answers JSON, /broken 500.
    (The instance allows API calls to its own network, as it must to reach loopback.)"""
    settings.API_CALL_PRIVATE_HOSTS = True

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path.startswith("/orders/"):
                body = json.dumps({"order": {"status": "baking", "eta": [15, 20]}}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
            else:
                body = b"oops"
                self.send_response(500)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def api_flow(url: str) -> dict[str, Any]:
    graph = copy.deepcopy(FLOW)
    track = next(step for step in graph["steps"] if step["id"] == "track")
    track.update(type="api_call", url=url + "/orders/{{last_utterance}}", next="tracked",
                 on_error="fallback", response_map={"status": "order.status", "eta": "order.eta.1"},
                 timeout_s=2)  # fmt: skip
    graph["steps"].append(
        {"id": "tracked", "type": "message", "text": "Your pizza is {{status}}, {{eta}} minutes."}
    )
    return graph


@pytest.mark.asyncio
async def test_an_api_call_step_maps_the_answer_into_variables(demo_nlu, orders_api):
    chat = chat_with(api_flow(orders_api), demo_nlu)
    await chat.start()

    assert await chat.say("where is my order") == ["Your pizza is baking, 20 minutes."]


@pytest.mark.asyncio
async def test_a_failing_api_call_takes_its_error_path(demo_nlu, orders_api):
    chat = chat_with(api_flow(orders_api + "/broken"), demo_nlu)
    await chat.start()

    said = await chat.say("where is my order")

    assert said == ["Sorry, I didn't get that. I can take an order, track one or give our hours."]
    assert "answered 500" in chat.turn.errors[0]


@pytest.mark.asyncio
async def test_an_api_call_into_the_servers_own_network_is_refused(demo_nlu, orders_api, settings):
    settings.API_CALL_PRIVATE_HOSTS = False
    chat = chat_with(api_flow(orders_api), demo_nlu)
    await chat.start()

    said = await chat.say("where is my order")

    assert said == ["Sorry, I didn't get that. I can take an order, track one or give our hours."]
    assert "points inside this server's network, which is not allowed" in chat.turn.errors[0]


def test_templates_leave_unset_variables_empty():
    assert render("Hi {{name}}{{missing}}!", {"name": "Ada"}) == "Hi Ada!"


def test_json_paths_reach_into_objects_and_lists():
    data = {"a": {"b": [{"c": 1}, {"c": 2}]}}
    assert json_path(data, "a.b.1.c") == 2
    assert json_path(data, "a.x.0") is None
    assert json_path(data, "a.b.9.c") is None
