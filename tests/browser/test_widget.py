"""The web chat widget on the demo page, in headless Chromium against the real server."""

from __future__ import annotations

import threading
from io import StringIO

import pytest
from django.core.management import call_command
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.browser

CONFIRM = "One large pepperoni pizza, coming up! A large comes with free garlic bread."


@pytest.fixture
def demo_url(live_url: str) -> str:
    # seed_demo trains and publishes the demo assistant. It runs on its own thread: this one
    # hosts Playwright's event loop, and Django refuses blocking work inside an event loop.
    seeding = threading.Thread(
        target=call_command, args=["seed_demo"], kwargs={"stdout": StringIO()}
    )
    seeding.start()
    seeding.join(timeout=120)
    return f"{live_url}/demo/"


def test_a_visitor_orders_through_the_widget_clicks_a_button_and_carries_on_after_a_reload(
    page: Page, demo_url: str
) -> None:
    page.goto(demo_url)
    page.get_by_test_id("chat-bubble").click()
    log = page.get_by_test_id("chat-log")
    expect(log).to_contain_text("Welcome to Pizza Palace! What can I do for you?")

    page.get_by_role("button", name="Order a pizza").click()
    expect(log).to_contain_text("Which size would you like: small, medium or large?")
    page.get_by_test_id("chat-input").fill("large please")
    page.get_by_test_id("chat-input").press("Enter")
    expect(log).to_contain_text("And which pizza?")
    page.get_by_test_id("chat-input").fill("pepperoni")
    page.get_by_test_id("chat-input").press("Enter")
    expect(log).to_contain_text(CONFIRM)

    page.reload()
    log = page.get_by_test_id("chat-log")
    expect(log).to_contain_text(CONFIRM)  # the conversation is redrawn…
    expect(log.get_by_text("pepperoni", exact=True)).to_have_count(1)  # …the user's side too, once
    page.get_by_test_id("chat-input").fill("when are you open")
    page.get_by_test_id("chat-input").press("Enter")
    expect(log).to_contain_text("We are open every day from 11:00 to 23:00.")
    expect(log.get_by_text(CONFIRM)).to_have_count(1)
    expect(page.get_by_test_id("chat-status")).to_have_text("online")


def test_a_question_the_flow_does_not_cover_is_answered_from_the_faq_with_its_source(
    page: Page, demo_url: str
) -> None:
    page.goto(demo_url)
    page.get_by_test_id("chat-bubble").click()
    log = page.get_by_test_id("chat-log")
    expect(log).to_contain_text("Welcome to Pizza Palace! What can I do for you?")

    page.get_by_test_id("chat-input").fill("how much does delivery cost")
    page.get_by_test_id("chat-input").press("Enter")

    # The bundled local model streams the answer; its source is the FAQ's delivery section.
    expect(log.locator(".sources")).to_contain_text("Pizza Palace FAQ › Delivery", timeout=30_000)
    expect(log).to_contain_text("Anything else I can do for you?")
