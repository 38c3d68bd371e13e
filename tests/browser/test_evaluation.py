"""A creator evaluates the NLU and compares it with the LLM from the Evaluation tab, in Chromium."""

from __future__ import annotations

import threading

import pytest
from django.db import transaction
from playwright.sync_api import Page, expect

from builder.demo import demo_content_seed
from core.models import Assistant
from tests.support.browser import log_in

pytestmark = pytest.mark.browser


@pytest.fixture
def pizza(live_url: str, assistant: Assistant) -> Assistant:
    def seed() -> None:
        with transaction.atomic():  # one training for all of it
            demo_content_seed(assistant)

    # Not on this thread: it hosts Playwright's event loop, where Django refuses blocking work.
    seeding = threading.Thread(target=seed)
    seeding.start()
    seeding.join(timeout=120)
    return assistant


def test_a_kfold_report_then_a_comparison_with_the_bundled_llm(
    page: Page, live_url: str, editor, pizza
) -> None:
    log_in(page, live_url, "eddie")
    page.goto(f"{live_url}/assistants/{pizza.pk}/")
    page.get_by_role("navigation", name="Assistant").get_by_role("link", name="Evaluation").click()
    expect(page.get_by_test_id("estimates")).to_contain_text("local:smollm2-135m")

    page.get_by_label("Evaluate on").select_option(label="K-fold cross-validation")
    page.get_by_label("Folds").fill("3")
    # With tasks run in-line in tests, the evaluation runs inside this request.
    page.get_by_role("button", name="Evaluate").click(timeout=120_000)
    summary = page.get_by_test_id("evaluation-summary")
    expect(summary).to_contain_text("Accuracy")
    expect(page.get_by_role("img", name="Confidence histogram")).to_be_visible()
    expect(page.get_by_role("img", name="F1 per intent")).to_be_visible()
    expect(page.get_by_test_id("per-intent")).to_contain_text("order_pizza")

    page.get_by_role("link", name="All evaluations").click()
    page.get_by_label("Evaluate on").select_option(label="In-house NLU vs LLM vs hybrid")
    page.get_by_label("At most this many utterances to the LLM").fill("4")
    page.get_by_label("Few-shot examples").fill("1")
    # With tasks run in-line in tests, the evaluation runs inside this request.
    page.get_by_role("button", name="Evaluate").click(timeout=120_000)
    comparison = page.get_by_test_id("comparison")
    expect(comparison).to_contain_text("4 utterances, LLM local:smollm2-135m", timeout=120_000)
    for name in ("nlu", "llm", "hybrid"):
        expect(comparison.locator(f'[data-classifier="{name}"]')).to_be_visible()
    expect(page.get_by_role("img", name="Accuracy against cost")).to_be_visible()
