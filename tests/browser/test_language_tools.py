"""A creator sees which utterance is in the wrong intent, moves it in one click, and takes new
utterances from the LLM's suggestions, accepting one and rejecting a flagged one."""

from __future__ import annotations

import json
import re
import threading

import pytest
from playwright.sync_api import Page, expect

from benchmarks.fake_provider import reply, truncated
from builder import services
from core.models import Assistant, Utterance
from tests.nlu.conftest import UTTERANCES
from tests.support.browser import log_in

pytestmark = pytest.mark.browser


@pytest.fixture
def pizza(live_url: str, assistant: Assistant, primary) -> Assistant:
    def seed() -> None:
        for name, texts in UTTERANCES.items():
            services.intent_create(assistant=assistant, name=name, utterances=texts)
        services.utterances_add(
            intent=assistant.intents.get(name="greet"), utterances=["where is my pizza order"]
        )
        assistant.llm_model = primary
        assistant.save(update_fields=["llm_model"])

    # Not on this thread: it hosts Playwright's event loop, where Django refuses blocking work.
    seeding = threading.Thread(target=seed)
    seeding.start()
    seeding.join()
    return assistant


def test_fix_a_misplaced_utterance_and_accept_suggestions(
    page: Page, live_url: str, editor, pizza: Assistant, fake
) -> None:
    log_in(page, live_url, "eddie")
    page.goto(f"{live_url}/assistants/{pizza.pk}/intents/")

    expect(page.get_by_test_id("assistant-clarity")).to_have_text(re.compile(r"^\d+$"))
    conflicts = page.get_by_test_id("conflicts")
    stray = conflicts.locator("li[data-kind=misplaced] li[data-utterance]", has_text="in greet")
    expect(stray).to_contain_text("model says track_order")
    stray.get_by_role("button", name="Move to track_order").click()

    expect(page.get_by_role("status")).to_contain_text("moved to track_order")
    assert Utterance.objects.get(text="where is my pizza order").intent.name == "track_order"
    # Retrained and re-analysed: the conflict is gone.
    expect(
        page.locator("[data-testid=conflicts] li[data-utterance]", has_text="in greet")
    ).to_have_count(0)

    fake.script(
        "primary",
        reply(
            json.dumps(
                {
                    "utterances": [
                        "I want to order a pizza",
                        "send a large salami pizza to my office",
                        "what time do you close tonight",
                    ]
                }
            )
        ),
    )
    page.get_by_test_id("intent-list").get_by_role("link", name="order_pizza").click()
    panel = page.get_by_test_id("suggestions")
    panel.get_by_role("button", name="Suggest utterances").click()

    expect(panel.get_by_role("status")).to_contain_text("2 suggestion(s) (1 dropped")
    flagged = panel.locator("li", has_text="what time do you close tonight")
    expect(flagged).to_contain_text("Sounds like opening_hours")
    flagged.get_by_role("button", name="Reject").click()
    expect(flagged).to_have_count(0)
    panel.locator("li", has_text="send a large salami pizza").get_by_role(
        "button", name="Accept"
    ).click()

    expect(panel.get_by_role("status")).to_contain_text("1 added")
    texts = set(pizza.intents.get(name="order_pizza").utterances.values_list("text", flat=True))
    assert "send a large salami pizza to my office" in texts
    assert "what time do you close tonight" not in texts
    page.reload()
    expect(page.get_by_test_id("utterance-list")).to_contain_text("send a large salami pizza")


def test_suggested_values_of_a_cut_off_answer_are_the_ones_written_in_full(
    page: Page, live_url: str, editor, pizza: Assistant, fake
) -> None:
    def seed() -> None:
        services.entity_create(
            assistant=pizza, name="size", values=[{"value": "large", "synonyms": ["big"]}]
        )

    seeding = threading.Thread(target=seed)
    seeding.start()
    seeding.join()
    fake.script(
        "primary",
        truncated(
            '{"values": [{"value": "medium", "synonyms": ["regular", "med"]}, '
            '{"value": "family", "synonyms": ["party size"]}, {"value": "extra lar'
        ),
        truncated('{"values": [{"val'),
    )
    log_in(page, live_url, "eddie")
    page.goto(f"{live_url}/assistants/{pizza.pk}/entities/")
    box = page.get_by_test_id("entity-suggestions")

    page.get_by_role("button", name="Suggest values").click()

    expect(box.get_by_role("status")).to_contain_text("2 suggestion(s).")
    expect(box.get_by_role("status")).to_contain_text("cut off")
    expect(box.locator("li .text")).to_have_text(["medium (regular, med)", "family (party size)"])

    page.get_by_role("button", name="Suggest values").click()

    expect(box.get_by_role("status")).to_contain_text(
        "No suggestions: The LLM's answer had no values that could be read"
    )
    expect(box.locator("li")).to_have_count(0)
