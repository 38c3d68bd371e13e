"""A person signs up and manages an assistant through the real pages in headless Chromium."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, Page, expect

from core.models import Assistant
from tests.support.browser import log_in

pytestmark = pytest.mark.browser


def test_sign_up_create_a_workspace_and_an_assistant_then_rename_and_delete_it(
    page: Page, live_url: str
) -> None:
    page.goto(live_url)
    page.get_by_role("navigation").get_by_role("link", name="Sign up").click()
    page.get_by_label("Username").fill("nina")
    page.get_by_label("Email").fill("nina@example.com")
    page.get_by_label("Password", exact=True).fill("correct horse battery")
    page.get_by_label("Password confirmation").fill("correct horse battery")
    page.get_by_role("button", name="Sign up").click()
    expect(page.get_by_role("status")).to_contain_text("Welcome, nina!")
    expect(page.get_by_text("You are not in any workspace yet")).to_be_visible()

    page.get_by_label("Name").fill("Bakery")
    page.get_by_role("button", name="Create workspace").click()
    expect(page.get_by_role("heading", name="Bakery")).to_be_visible()
    expect(page.get_by_test_id("assistant-list")).to_contain_text("No assistants yet")

    page.get_by_label("Name").fill("Order bot")
    page.get_by_label("Description").fill("Takes cake orders.")
    page.get_by_label("Language").select_option(label="French")
    page.get_by_role("button", name="Create assistant").click()
    expect(page.get_by_test_id("assistant-name")).to_have_text("Order bot")
    expect(page.get_by_text("French")).to_be_visible()

    page.get_by_role("link", name="Rename or edit").click()
    page.get_by_label("Name").fill("Cake bot")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status")).to_contain_text("Assistant saved.")
    expect(page.get_by_test_id("assistant-name")).to_have_text("Cake bot")

    page.get_by_role("link", name="Delete").click()
    expect(page.get_by_role("heading")).to_contain_text("Delete “Cake bot”?")
    page.get_by_role("button", name="Delete assistant").click()
    expect(page.get_by_role("status")).to_contain_text("Assistant “Cake bot” deleted.")
    expect(page.get_by_test_id("assistant-list")).to_contain_text("No assistants yet")
    assert not Assistant.objects.exists()


def test_bad_input_is_shown_on_the_field(page: Page, live_url: str, owner, workspace) -> None:
    log_in(page, live_url, "olivia")
    page.goto(f"{live_url}/workspaces/{workspace.pk}/")
    page.get_by_label("Name").fill("   ")
    page.get_by_role("button", name="Create assistant").click()
    expect(page.locator(".field.has-error")).to_contain_text("This field is required.")
    assert not Assistant.objects.exists()


def test_a_rename_by_a_teammate_shows_live_on_an_open_page(
    browser: Browser,
    page: Page,
    live_url: str,
    owner,
    editor,
    assistant,
) -> None:
    log_in(page, live_url, "olivia")
    page.goto(f"{live_url}/assistants/{assistant.pk}/")
    # The page's socket is subscribed once it is open; only then does the teammate act.
    expect(page.locator("[data-assistant-events]")).to_have_attribute("data-socket", "open")
    teammate = browser.new_context().new_page()
    log_in(teammate, live_url, "eddie")
    teammate.goto(f"{live_url}/assistants/{assistant.pk}/edit/")
    teammate.get_by_label("Name").fill("Pizza bot")
    teammate.get_by_role("button", name="Save").click()
    expect(teammate.get_by_test_id("assistant-name")).to_have_text("Pizza bot")
    expect(page.get_by_test_id("assistant-name")).to_have_text("Pizza bot")
    expect(page).to_have_title(re.compile("Order bot"))  # only the live parts change
