"""A creator records a conversation in the test panel, saves it as a test, saves it again from
its transcript and edits one expectation of that copy, runs the suite, and sees one test pass
and one fail with the difference between the reply it expected and the one the assistant gave."""

from __future__ import annotations

import threading

import pytest
from django.db import transaction
from playwright.sync_api import Page, expect

from builder.demo import demo_content_seed
from core.models import Assistant, ConversationTest
from tests.support.browser import log_in

pytestmark = pytest.mark.browser


@pytest.fixture
def pizza(live_url: str, assistant: Assistant) -> Assistant:
    def seed() -> None:
        with transaction.atomic():
            demo_content_seed(assistant)

    # Not on this thread: it hosts Playwright's event loop, where Django refuses blocking work.
    seeding = threading.Thread(target=seed)
    seeding.start()
    seeding.join()
    return assistant


def say(page: Page, text: str, expected_reply: str) -> None:
    chat = page.get_by_role("region", name="Test chat")
    chat.get_by_label("Message to the draft assistant").fill(text)
    chat.get_by_role("button", name="Send").click()
    expect(chat.get_by_role("log")).to_contain_text(expected_reply)


def test_record_save_edit_and_run_conversation_tests(
    page: Page, live_url: str, editor, pizza: Assistant
) -> None:
    log_in(page, live_url, "eddie")
    page.goto(f"{live_url}/assistants/{pizza.pk}/flow/")
    chat = page.get_by_role("region", name="Test chat")
    expect(chat.get_by_role("log")).to_contain_text("Welcome to Pizza Palace!")
    say(page, "I'd like to order food", "Which size would you like")
    say(page, "medium", "And which pizza")
    say(page, "veggie", "One medium veggie pizza, coming up!")

    # Saved as a test, the recorded conversation opens in the editor with what it expects.
    chat.get_by_role("button", name="Save as a test").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Conversation of")
    users = page.get_by_test_id("turn-user")
    expect(users.nth(1)).to_have_value("I'd like to order food")
    expect(users.nth(3)).to_have_value("veggie")
    page.get_by_label("Test name").fill("Veggie order")
    page.get_by_role("button", name="Save the test").click()
    expect(page.get_by_role("status")).to_contain_text("Test “Veggie order” saved.")

    # The same conversation, saved again from its transcript and edited: the last reply it
    # expects is now wrong.
    page.goto(f"{live_url}/assistants/{pizza.pk}/transcripts/")
    page.locator("table a[href^='/transcripts/']").first.click()
    page.get_by_role("button", name="Save as a test").click()
    expect(page.get_by_test_id("turn-user").nth(3)).to_have_value("veggie")
    page.get_by_label("Test name").fill("Pepperoni order")
    last_turn = page.locator("fieldset[data-turn]").nth(3)
    reply = last_turn.locator("[data-expectation]").filter(
        has=page.locator("option[value=reply]:checked")
    )
    reply.get_by_label("Expected value").fill(
        "One medium pepperoni pizza, coming up! Anything else?"
    )
    page.get_by_role("button", name="Save the test").click()
    expect(page.get_by_role("status")).to_contain_text("Test “Pepperoni order” saved.")

    page.get_by_role("link", name="All tests").click()
    expect(page.get_by_test_id("conversation-tests").locator("tbody tr")).to_have_count(2)
    page.get_by_role("button", name="Run the tests").click()

    expect(page.get_by_test_id("test-run-summary")).to_contain_text("1 passed, 1 failed")
    passed = page.locator("[data-testid=test-result][data-passed=true]")
    failed = page.locator("[data-testid=test-result][data-passed=false]")
    expect(passed).to_have_count(1)
    expect(passed).to_contain_text("Veggie order")
    expect(failed).to_have_count(1)
    expect(failed).to_contain_text("Pepperoni order")
    diff = failed.get_by_test_id("diff")
    expect(diff.locator("del")).to_have_text("pepperoni")
    expect(diff.locator("ins")).to_have_text("veggie")
    assert ConversationTest.objects.count() == 2
