"""A creator builds a small pizza-ordering assistant from nothing through the real pages — an
entity, two intents with annotated utterances, a flow drawn on the canvas — and chats with the
trained draft in the test panel."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from core.models import Utterance
from tests.support.browser import log_in

pytestmark = pytest.mark.browser

ORDERS = """I want to order a pizza
can I get a pizza please
a small pizza please
I'd like to order food
pizza for delivery
one pizza please
get me a pizza
order pizza"""

GREETINGS = "hello\nhi there\ngood evening\nhey\ngood morning\nhiya"


def add_step(page: Page, kind: str) -> None:
    page.get_by_role("toolbar", name="Add steps").get_by_role(
        "button", name=kind, exact=True
    ).click()


def inspector(page: Page):
    return page.get_by_role("region", name="Step settings")


def choose(page: Page, node: str) -> None:
    page.get_by_role("button", name=node).click()


def test_build_train_and_chat_with_a_pizza_assistant(
    page: Page, live_url: str, editor, assistant
) -> None:
    log_in(page, live_url, "eddie")
    page.goto(f"{live_url}/assistants/{assistant.pk}/")

    # An entity
    page.get_by_role("navigation", name="Assistant").get_by_role("link", name="Entities").click()
    page.get_by_label("Name").fill("size")
    page.get_by_label("Values").fill("small: little\nlarge: big, XL")
    page.get_by_role("button", name="Create entity").click()
    expect(page.get_by_test_id("entity-list")).to_contain_text("large (big, XL)")

    # Two intents; one utterance annotated by selecting words and tagging them
    page.get_by_role("navigation", name="Assistant").get_by_role("link", name="Intents").click()
    page.get_by_label("Name").fill("order_pizza")
    page.get_by_label("Description").fill("The customer wants a pizza.")
    box = page.get_by_label("Utterances")
    box.fill(ORDERS + "\nI want a large pizza")
    box.evaluate(
        "(box) => { const at = box.value.lastIndexOf('large'); box.setSelectionRange(at, at + 5); }"
    )
    page.get_by_role("button", name="Tag selection").click()
    expect(box).to_have_value(ORDERS + "\nI want a [large](size) pizza")
    page.get_by_role("button", name="Create intent").click()
    expect(page.get_by_test_id("utterance-list")).to_contain_text("I want a large")
    expect(page.get_by_test_id("utterance-list").locator("mark")).to_have_text("largesize")
    page.get_by_role("navigation", name="Assistant").get_by_role("link", name="Intents").click()
    page.get_by_label("Name").fill("greet")
    page.get_by_label("Utterances").fill(GREETINGS)
    page.get_by_role("button", name="Create intent").click()
    expect(page.get_by_test_id("utterance-list")).to_contain_text("good evening")
    annotated = Utterance.objects.get(text="I want a large pizza")
    assert annotated.entities == [{"start": 9, "end": 14, "entity": "size", "value": "large"}]

    # A flow: welcome -> (order_pizza) capture size -> condition -> message -> end
    page.get_by_role("navigation", name="Assistant").get_by_role("link", name="Flow & test").click()
    add_step(page, "Message")
    inspector(page).get_by_label("Text").fill("Hi! Fancy a pizza?")
    add_step(page, "Capture")
    inspector(page).get_by_label("Entity").select_option("size")
    inspector(page).get_by_label("Into variable").fill("size")
    inspector(page).get_by_label("Question").fill("Which size, small or large?")
    add_step(page, "Condition")
    add_step(page, "Message")
    inspector(page).get_by_label("Text").fill("A large one, great choice!")
    add_step(page, "Message")
    inspector(page).get_by_label("Text").fill("A {{size}} one it is.")
    add_step(page, "End")
    inspector(page).get_by_label("Goodbye text").fill("Enjoy your pizza!")

    choose(page, "Capture step capture_1")
    inspector(page).get_by_label("Then go to").select_option("condition_1")
    choose(page, "Condition step condition_1")
    inspector(page).get_by_label("Variable").fill("size")
    inspector(page).get_by_label("Value").fill("large")
    inspector(page).get_by_label("Branch goes to").select_option("message_2")
    inspector(page).get_by_label("Else go to").select_option("message_3")
    for message in ("message_2", "message_3"):
        choose(page, f"Message step {message}")
        inspector(page).get_by_label("Then go to").select_option("end_1")
    page.get_by_role("button", name="Add trigger").click()
    page.get_by_label("Trigger intent").select_option("order_pizza")
    page.get_by_label("Trigger goes to").select_option("capture_1")
    page.get_by_role("button", name="Save flow").click()
    expect(page.get_by_role("status").filter(has_text="Saved")).to_be_visible()

    # The test panel talks to the trained draft and shows how each turn was understood
    chat = page.get_by_role("region", name="Test chat")
    expect(chat.get_by_role("log")).to_contain_text("Hi! Fancy a pizza?")
    chat.get_by_label("Message to the draft assistant").fill("I'd like to order a pizza")
    chat.get_by_role("button", name="Send").click()
    expect(chat.get_by_role("log")).to_contain_text("Which size, small or large?")
    expect(chat.get_by_test_id("turn-detail").last).to_contain_text("order_pizza")
    chat.get_by_label("Message to the draft assistant").fill("a big one")
    chat.get_by_role("button", name="Send").click()
    expect(chat.get_by_role("log")).to_contain_text("A large one, great choice!")
    expect(chat.get_by_role("log")).to_contain_text("Enjoy your pizza!")
    expect(chat.get_by_test_id("turn-detail").last).to_contain_text(
        "steps: condition_1 → message_2 → end_1"
    )
    expect(chat.get_by_test_id("turn-detail").last).to_contain_text("size=large")


def test_a_flow_with_problems_is_refused_and_the_step_is_named(
    page: Page, live_url: str, editor, assistant
) -> None:
    log_in(page, live_url, "eddie")
    page.goto(f"{live_url}/assistants/{assistant.pk}/flow/")
    add_step(page, "Message")
    inspector(page).get_by_label("Text").fill("Hello {{name}}")
    add_step(page, "Set variable")

    page.get_by_role("button", name="Save flow").click()

    problems = page.locator("[data-problems]")
    expect(problems).to_contain_text("step 'message_1', text: Uses the variable 'name'")
    expect(problems).to_contain_text("step 'set_1', id: No path leads to this step.")
    expect(page.get_by_role("button", name="Message step message_1, start")).to_have_class(
        "node start problem"
    )
    assert not assistant.flows.exists()
