"""A creator fills the knowledge base through its page and tries questions, in headless Chromium."""

from __future__ import annotations

import pytest
from playwright.sync_api import FilePayload, Page, expect

from tests.knowledge.conftest import encrypted_pdf_bytes
from tests.support.browser import log_in

pytestmark = pytest.mark.browser

LOCKED = encrypted_pdf_bytes("The vault code is 1234.")

GUIDE = b"""# Sweep S5 guide

## Charging
A full charge of the Sweep S5 takes 4 hours on its dock. The light turns green when it is full.

## Cleaning the brushes
Pull out the main brush once a week and cut away hair with the tool in the dock's drawer.
"""


def test_upload_see_the_status_and_try_a_question(page: Page, live_url: str, editor, assistant):
    log_in(page, live_url, "eddie")
    page.goto(f"{live_url}/assistants/{assistant.pk}/")
    tabs = page.get_by_role("navigation", name="Assistant")
    tabs.get_by_role("link", name="Knowledge base").click()
    expect(page.get_by_test_id("document-list")).to_contain_text("No documents yet")

    files: list[FilePayload] = [
        {"name": "sweep-guide.md", "mimeType": "text/markdown", "buffer": GUIDE},
        {"name": "locked.pdf", "mimeType": "application/pdf", "buffer": LOCKED},
        {"name": "empty.txt", "mimeType": "text/plain", "buffer": b""},
    ]
    page.get_by_label("Files (").set_input_files(files)
    page.get_by_label("Tags for the upload").fill("manuals")
    page.get_by_role("button", name="Upload").click()

    expect(page.get_by_role("status")).to_contain_text("“empty.txt” is empty.")
    guide = page.locator("tr", has_text="sweep-guide.md")
    expect(guide).to_contain_text("Ready")
    expect(guide.locator('[data-field="chunks"]')).to_have_text("2")
    locked = page.locator("tr", has_text="locked.pdf")
    expect(locked).to_contain_text("Failed")
    expect(locked).to_contain_text("The PDF is password-protected")

    box = page.get_by_test_id("try-question")
    box.get_by_label("Question").fill("how long does the robot need to charge")
    box.get_by_role("button", name="Show passages").click()
    first = box.locator(".passage").first
    expect(first).to_contain_text("sweep-guide.md › Sweep S5 guide › Charging")
    expect(first).to_contain_text("takes 4 hours")
    expect(first).to_contain_text("relevance")

    # The answer comes from the bundled local model, with its sources.
    box.get_by_role("button", name="Answer").click()
    expect(box.locator(".sources")).to_contain_text("sweep-guide.md", timeout=60_000)

    page.get_by_role("link", name="sweep-guide.md").click()
    expect(page.get_by_test_id("chunk").first).to_contain_text("A full charge of the Sweep S5")
