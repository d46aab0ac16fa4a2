"""The chat UI in Debian's chromium against a real server on loopback (the paced scripted engine)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.web.conftest import UiServer, screenshot, sign_in

pytestmark = pytest.mark.browser


def upload(page: Page, files: list[Path]) -> None:
    page.get_by_role("button", name="Documents").click()
    page.locator("#file-input").set_input_files([str(f) for f in files])


def test_sign_in_upload_ask_stream_and_cite(ui: UiServer, page: Page, docs_mixed: Path, tmp_path: Path) -> None:
    sign_in(page, ui.url, ui.key)
    upload(page, [docs_mixed / "duck.md"])
    row = page.locator(".upload", has_text="duck.md")
    expect(row.locator(".upload-status")).to_have_text(re.compile(r"Done: \d+ chunks indexed"), timeout=60_000)
    expect(page.locator("#documents tbody tr", has_text="duck.md")).to_be_visible()
    screenshot(page, "documents", tmp_path)
    page.get_by_role("button", name="Chat", exact=True).click()
    page.get_by_label("Your question").fill("What do ducks eat?")
    page.get_by_role("button", name="Ask").click()
    answer = page.locator(".msg.answer").last
    chip = answer.locator(".chip").first
    expect(chip).to_be_visible(timeout=30_000)
    expect(answer).to_have_attribute("aria-busy", "true")
    chip.click()
    expect(page.locator("#passage mark.support")).to_be_visible()
    screenshot(page, "streaming", tmp_path)
    expect(answer).not_to_have_attribute("aria-busy", "true", timeout=60_000)
    screenshot(page, "answer", tmp_path)
