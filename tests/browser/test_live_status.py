"""The builder's live status lines survive a dropped events socket: the page reconnects by itself
and carries on showing what happens (the flow page's NLU training line, an evaluation's progress),
and scripts of one page that watch the same events share one socket; in Chromium."""

from __future__ import annotations

import json
import re
import threading
import time

import pytest
from playwright.sync_api import Page, WebSocketRoute, expect

from builder import services
from core.models import Assistant
from quality.models.evaluations import EvaluationRun
from tests.support.browser import log_in

pytestmark = pytest.mark.browser

TRAINED = "NLU: trained — the test chat uses the new model"
EVENTS = re.compile(r"/ws/assistants/\d+/events/$")


@pytest.fixture
def greeter(live_url: str, assistant: Assistant) -> Assistant:
    def seed() -> None:
        services.intent_create(
            assistant=assistant, name="greet", utterances=["hello", "hi there", "good morning"]
        )

    # Not on this thread: it hosts Playwright's event loop, where Django refuses blocking work.
    seeding = threading.Thread(target=seed)
    seeding.start()
    seeding.join(timeout=120)
    return assistant


def wait_for(page: Page, done, seconds: float) -> None:
    """Let the page run (and Playwright deliver its events) until ``done()`` or the time is up."""
    deadline = time.monotonic() + seconds
    while not done() and time.monotonic() < deadline:
        page.wait_for_timeout(100)


def test_the_training_line_keeps_updating_after_the_events_socket_drops(
    page: Page, live_url: str, editor, greeter: Assistant
) -> None:
    # Every events socket of the page goes through this proxy, which can drop it as a server or
    # a proxy on the way would.
    sockets: list[WebSocketRoute] = []

    def proxy(socket: WebSocketRoute) -> None:
        socket.connect_to_server()
        sockets.append(socket)

    page.route_web_socket(EVENTS, proxy)
    log_in(page, live_url, "eddie")
    page.goto(f"{live_url}/assistants/{greeter.pk}/flow/")
    training = page.locator("[data-training]")
    expect(training).not_to_have_text(TRAINED)
    wait_for(page, lambda: len(sockets) == 1, 10)
    assert len(sockets) == 1, "the flow page opened no events socket"

    sockets[0].close(code=1012, reason="server restarting")
    wait_for(page, lambda: len(sockets) == 2, 5)  # the page's own backoff starts at one second

    # The creator adds a second intent in another tab; the NLU retrains.
    tab = page.context.new_page()
    tab.goto(f"{live_url}/assistants/{greeter.pk}/intents/")
    tab.get_by_label("Name").fill("order_pizza")
    tab.get_by_label("Utterances").fill("I want a pizza\none pizza please\norder food")
    tab.get_by_role("button", name="Create intent").click(timeout=120_000)
    expect(tab.get_by_test_id("utterance-list")).to_contain_text("one pizza please")

    expect(training).to_have_text(TRAINED, timeout=60_000)
    expect(page.locator("[data-flow-editor]")).to_have_attribute("data-socket", "open")


@pytest.fixture
def running(live_url: str, assistant: Assistant) -> EvaluationRun:
    made: list[EvaluationRun] = []

    def seed() -> None:
        made.append(
            EvaluationRun.objects.create(
                assistant=assistant, kind="holdout", status="running", progress=0.1
            )
        )

    seeding = threading.Thread(target=seed)  # off Playwright's event-loop thread
    seeding.start()
    seeding.join()
    return made[0]


def test_an_evaluations_progress_keeps_updating_after_the_events_socket_drops(
    page: Page, live_url: str, editor, running: EvaluationRun
) -> None:
    # The events server is played by the test: it says how far the evaluation has got.
    sockets: list[WebSocketRoute] = []
    page.route_web_socket(EVENTS, lambda socket: sockets.append(socket))

    def progress(fraction: float) -> None:
        data = {"run": running.pk, "status": "running", "progress": fraction}
        sockets[-1].send(json.dumps({"type": "nlu.evaluation", "data": data}))

    log_in(page, live_url, "eddie")
    page.goto(f"{live_url}/evaluations/{running.pk}/")
    shown = page.locator("[data-progress]")
    expect(shown).to_have_text("10")
    wait_for(page, lambda: len(sockets) == 1, 10)
    progress(0.3)
    expect(shown).to_have_text("30")

    sockets[0].close(code=1012, reason="server restarting")
    wait_for(page, lambda: len(sockets) == 2, 5)  # well before the page's 15-second reload
    assert len(sockets) == 2, "the evaluation page did not reconnect"
    progress(0.6)
    expect(shown).to_have_text("60")


def test_scripts_watching_the_same_events_share_one_socket(
    page: Page, live_url: str, editor, assistant: Assistant
) -> None:
    sockets: list[WebSocketRoute] = []
    page.route_web_socket(EVENTS, lambda socket: sockets.append(socket))
    log_in(page, live_url, "eddie")
    page.goto(f"{live_url}/assistants/{assistant.pk}/")
    root = page.locator("[data-assistant-events]")
    expect(root).to_have_attribute("data-socket", "open")
    # A second script of the page watches the same assistant.
    root.evaluate(
        """(root) => { window.heard = [];
        Parley.events(root.dataset.assistantEvents, (m) => window.heard.push(m.type)); }"""
    )
    sockets[0].send(json.dumps({"type": "assistant.updated", "data": {"name": "Pizza bot"}}))
    expect(page.get_by_test_id("assistant-name")).to_have_text("Pizza bot")
    assert page.evaluate("window.heard") == ["assistant.updated"]
    assert len(sockets) == 1
