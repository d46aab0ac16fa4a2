"""Accessibility (axe-core, vendored for the tests) and the phone-width layout, in Debian's chromium."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.web.conftest import AXE, UiServer, screenshot, sign_in

pytestmark = pytest.mark.browser
PHONE = {"width": 390, "height": 844}


def serious_violations(page: Page) -> list[dict[str, Any]]:
    """axe-core's serious and critical violations on the page as it is now (WCAG 2.1 A and AA rules)."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        # run by the driver, not as a <script>: the page's CSP allows no inline script
        page.evaluate(AXE.read_text(encoding="utf-8"))
    results = page.evaluate(
        "async () => (await axe.run(document, {runOnly: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', "
        "'best-practice']})).violations"
    )
    return [
        {"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]][:5]}
        for v in results
        if v["impact"] in ("serious", "critical")
    ]


def ask(page: Page, question: str) -> None:
    page.get_by_label("Your question").fill(question)
    page.get_by_role("button", name="Ask").click()
    expect(page.locator(".msg.answer").last).not_to_have_attribute("aria-busy", "true", timeout=60_000)


def test_no_serious_or_critical_accessibility_violations_in_any_view(ui: UiServer, page: Page) -> None:
    page.goto(ui.url)
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    found = {"sign-in": serious_violations(page)}
    sign_in(page, ui.url, ui.key)
    ask(page, "When was IBM founded?")
    page.locator(".msg.answer").last.locator(".chip").first.click()
    expect(page.locator("#passage mark.support")).to_be_visible()
    found["chat"] = serious_violations(page)
    ask(page, "How far is the moon?")
    found["not-in-documents"] = serious_violations(page)
    page.get_by_role("button", name="Documents").click()
    expect(page.locator("#documents tbody tr").first).to_be_visible()
    found["documents"] = serious_violations(page)
    page.get_by_role("button", name="Usage").click()
    expect(page.locator("#usage")).to_contain_text("Tenant")
    found["usage"] = serious_violations(page)
    page.get_by_role("button", name="Documents").click()
    page.get_by_role("button", name="Delete wiki.md").click()
    expect(page.locator("#confirm")).to_be_visible()
    found["confirm"] = serious_violations(page)
    page.locator("#confirm").get_by_role("button", name="Cancel").click()
    assert {view: v for view, v in found.items() if v} == {}


def test_the_keyboard_alone_asks_opens_a_citation_and_closes_it(ui: UiServer, page: Page) -> None:
    sign_in(page, ui.url, ui.key)
    page.get_by_label("Your question").focus()
    page.keyboard.type("When was IBM founded?")
    page.keyboard.press("Enter")
    answer = page.locator(".msg.answer").last
    expect(answer).not_to_have_attribute("aria-busy", "true", timeout=60_000)
    chip = answer.locator(".chip").first
    chip.focus()
    page.keyboard.press("Enter")
    expect(page.locator("#passage")).to_be_focused()
    page.keyboard.press("Escape")
    expect(page.locator("#passage")).to_be_hidden()
    expect(chip).to_be_focused()


def test_the_phone_width_layout_has_no_sideways_scroll_and_the_passage_opens_as_a_sheet(
    ui: UiServer, browser: Browser, tmp_path: Path
) -> None:
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    page = context.new_page()
    try:
        sign_in(page, ui.url, ui.key)
        ask(page, "When was IBM founded?")
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        screenshot(page, "phone-chat", tmp_path)
        page.locator(".msg.answer").last.locator(".chip").first.tap()
        sheet = page.locator("#passage")
        expect(sheet).to_be_visible()
        box = sheet.bounding_box()
        assert box is not None and box["width"] >= PHONE["width"] - 2 and box["y"] > PHONE["height"] / 4
        screenshot(page, "phone-passage", tmp_path)
        page.get_by_role("button", name="Close the passage").tap()
        conversations = page.locator("#conversations")
        expect(conversations).to_be_hidden()
        page.get_by_role("button", name="Show").tap()
        expect(conversations).to_be_visible()
        conversations.locator(".conversation-open").first.tap()
        expect(conversations).to_be_hidden()
        expect(page.locator(".msg.answer .chip").first).to_be_visible()
        page.get_by_role("button", name="Documents").tap()
        expect(page.locator("#documents tbody tr").first).to_be_visible()
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        delete = page.locator("#documents tbody tr").first.get_by_role("button", name=re.compile("^Delete"))
        button = delete.bounding_box()
        assert button is not None and button["x"] + button["width"] <= PHONE["width"] - 8
        screenshot(page, "phone-documents", tmp_path)
    finally:
        context.close()
