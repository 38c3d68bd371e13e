"""Markup typed by creators and end users stays text: every page that shows what they wrote
(workspace, assistant, intents, utterances, entities, prompts, flow, knowledge base, transcripts,
tests, the test chat and the web chat widget) escapes it, and no planted script ever runs."""

from __future__ import annotations

import threading

import pytest
from django.db import transaction
from playwright.sync_api import Dialog, Page, expect

from builder import services
from core.models import Assistant
from knowledge.services import document_upload, knowledge_base_of
from quality.services.conversation_tests import conversation_test_create, conversation_tests_now
from tests.support.browser import log_in

pytestmark = pytest.mark.browser

# Each payload bumps window.__xss if it ever runs as script rather than showing as text.
PAYLOADS = [
    '<img src=x onerror="window.__xss=(window.__xss||0)+1">',
    "<script>window.__xss=(window.__xss||0)+1</script>",
    '"><svg onload="window.__xss=(window.__xss||0)+1">',
]
MARKUP = " ".join(PAYLOADS)


@pytest.fixture
def planted(live_url: str, workspace, assistant: Assistant) -> dict[str, object]:
    """An assistant whose every creator-written field holds markup, with a conversation in
    which the user typed markup too."""
    made: dict[str, object] = {}

    def seed() -> None:
        with transaction.atomic():
            workspace.name = f"Acme {PAYLOADS[0]}"
            workspace.save()
            assistant.name = f"Bot {PAYLOADS[1]}"
            assistant.description = MARKUP
            assistant.save()
            services.entity_create(
                assistant=assistant,
                name="size",
                values=[{"value": f"large {PAYLOADS[0]}", "synonyms": [PAYLOADS[2]]}],
            )
            services.intent_create(
                assistant=assistant,
                name="order",
                description=MARKUP,
                utterances=[f"I want a pizza {PAYLOADS[0]}", "order food", "one pizza please"],
            )
            services.intent_create(
                assistant=assistant,
                name="hours",
                utterances=["when are you open", f"opening hours {PAYLOADS[2]}", "closing time"],
            )
            made["prompt"] = services.prompt_create(
                assistant=assistant, name=f"Prompt {PAYLOADS[2]}", template=f"Say {MARKUP}"
            )
            services.flow_create(
                assistant=assistant,
                name="Main",
                graph={
                    "start": "hello",
                    "steps": [
                        {"id": "hello", "type": "message", "text": f"Hello {MARKUP}"},
                    ],
                },
            )
            document_upload(
                knowledge_base_of(assistant),
                name=f"faq {PAYLOADS[0]}.md",
                data=f"# Returns {PAYLOADS[1]}\n\nWe refund pizzas {PAYLOADS[2]}.".encode(),
            )
        test = conversation_test_create(
            assistant=assistant,
            name=f"Test {PAYLOADS[0]}",
            turns=[{"user": MARKUP, "expect": [{"kind": "reply", "value": MARKUP}]}],
        )
        made["test"] = test
        made["run"] = conversation_tests_now(assistant=assistant)

    seeding = threading.Thread(target=seed)  # off Playwright's event-loop thread
    seeding.start()
    seeding.join()
    return made


def no_script_ran(page: Page) -> None:
    page.wait_for_timeout(150)  # let an onerror handler of a broken image fire, if it could
    assert page.evaluate("window.__xss") is None, f"a planted script ran on {page.url}"


def test_no_planted_script_runs_on_any_page(
    page: Page, live_url: str, editor, assistant: Assistant, workspace, planted
) -> None:
    dialogs: list[str] = []

    def dismiss(dialog: Dialog) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", dismiss)
    log_in(page, live_url, "eddie")
    run = planted["run"]
    pages = [
        "/workspaces/",
        f"/workspaces/{workspace.pk}/",
        f"/assistants/{assistant.pk}/",
        f"/assistants/{assistant.pk}/edit/",
        f"/assistants/{assistant.pk}/intents/",
        f"/intents/{assistant.intents.get(name='order').pk}/",
        f"/assistants/{assistant.pk}/entities/",
        f"/assistants/{assistant.pk}/prompts/",
        f"/prompts/{planted['prompt'].pk}/",
        f"/assistants/{assistant.pk}/knowledge/",
        f"/assistants/{assistant.pk}/tests/",
        f"/tests/{planted['test'].pk}/",
        f"/test-runs/{run.pk}/",
        f"/assistants/{assistant.pk}/transcripts/",
    ]
    for path in pages:
        page.goto(live_url + path)
        no_script_ran(page)
    # The markup shows as the text it is.
    page.goto(f"{live_url}/assistants/{assistant.pk}/")
    expect(page.get_by_role("heading", level=1)).to_contain_text(PAYLOADS[1])

    # The flow canvas, and the test chat with what the bot and the user say.
    page.goto(f"{live_url}/assistants/{assistant.pk}/flow/")
    chat = page.get_by_role("region", name="Test chat")
    expect(chat.get_by_role("log")).to_contain_text(f"Hello {PAYLOADS[0]}")
    chat.get_by_label("Message to the draft assistant").fill(MARKUP)
    chat.get_by_role("button", name="Send").click()
    expect(chat.get_by_role("log")).to_contain_text(PAYLOADS[2])
    no_script_ran(page)

    # The transcript of that conversation.
    page.goto(f"{live_url}/assistants/{assistant.pk}/transcripts/")
    page.locator("table a[href^='/transcripts/']").first.click()
    expect(page.locator("main")).to_contain_text(PAYLOADS[1])
    no_script_ran(page)
    assert dialogs == []
