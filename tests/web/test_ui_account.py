"""Signing in, the usage panel, running out of credits, API errors in words, and auth switched off."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect

from app.gateway.keys import Scopes, create_key
from retrieval.embedders import SentenceTransformerEmbedder
from tests.app.conftest import serve
from tests.web.conftest import UiServer, make_ui_container, screenshot, sign_in

pytestmark = pytest.mark.browser


def test_a_wrong_key_is_refused_with_a_message_and_a_right_one_signs_in(ui: UiServer, page: Page) -> None:
    page.goto(ui.url)
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    page.get_by_label("API key").fill("vk_not_a_real_key")
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#signin-error")).to_contain_text("Sign in again with a valid key")
    assert page.evaluate("sessionStorage.getItem('verity.apiKey')") is None
    sign_in(page, ui.url, ui.key)
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    assert page.evaluate("sessionStorage.getItem('verity.apiKey')") is None


def test_the_usage_panel_shows_credits_with_expiry_requests_today_and_limits(
    ui: UiServer, page: Page, tmp_path: Path, docs_mixed: Path
) -> None:
    ui.container.ingest_pipeline.ingest([docs_mixed / "wiki.md"], tenant="payg")
    gateway = ui.container.gateway
    key, _ = create_key(gateway.store, gateway.clock, "payg", Scopes(), "usage panel")
    gateway.grant("payg", 5000, expires_at=time.time() + 30 * 86400)
    sign_in(page, ui.url, key)
    page.get_by_label("Your question").fill("When was IBM founded?")
    page.get_by_role("button", name="Ask").click()
    expect(page.locator(".msg.answer").last).not_to_have_attribute("aria-busy", "true", timeout=60_000)
    deadline = time.monotonic() + 30
    while not gateway.store.usage("payg") and time.monotonic() < deadline:
        time.sleep(0.1)  # the request is settled in the ledger just after its stream ends
    (record,) = gateway.store.usage("payg")
    page.get_by_role("button", name="Usage").click()
    panel = page.locator("#usage")
    expect(panel).to_contain_text("Credits left")
    expect(panel).to_contain_text("the next block expires")
    expect(panel.locator("dd").first).to_have_text(f"{5000 - record.credits:,}")
    assert record.credits > 0
    expect(panel).to_contain_text("Requests")
    expect(panel).to_contain_text("Per key")
    requests = panel.locator("dt", has_text="Requests").locator("xpath=following-sibling::dd[1]")
    expect(requests).to_have_text("1")
    screenshot(page, "usage", tmp_path)


def test_running_out_of_credits_says_so_and_what_to_do(ui: UiServer, page: Page, tmp_path: Path) -> None:
    gateway = ui.container.gateway
    key, _ = create_key(gateway.store, gateway.clock, "broke", Scopes(), "no credits")
    gateway.grant("broke", 1)
    sign_in(page, ui.url, key)
    page.get_by_label("Your question").fill("When was IBM founded?")
    page.get_by_role("button", name="Ask").click()
    failure = page.locator(".msg.answer.failed .answer-status")
    expect(failure).to_contain_text("run out of credits")
    expect(failure).to_contain_text("Ask your operator to grant more credits")
    expect(page.locator("#conversations-note")).to_have_text("No conversations yet.")
    stored = httpx.get(f"{ui.url}/v1/conversations", headers={"Authorization": f"Bearer {key}"})
    assert stored.status_code == 200 and stored.json()["data"] == []
    expect(page.locator(".msg.question")).to_contain_text("When was IBM founded?")
    screenshot(page, "out-of-credits", tmp_path)


def test_every_api_error_status_has_a_message_a_person_can_act_on(ui: UiServer, page: Page) -> None:
    sign_in(page, ui.url, ui.key)
    messages = page.evaluate(
        """async () => {
            const api = await import('/static/js/api.js');
            const statuses = [0, 401, 402, 403, 413, 415, 422, 429, 503];
            return Object.fromEntries(statuses.map((s) => [s, api.actionableMessage(s, 'detail', 12)]));
        }"""
    )
    expected = {
        "0": "Check that it is running",
        "401": "Sign in again",
        "402": "grant more credits",
        "403": "scopes",
        "413": "Split it",
        "415": "Upload PDF",
        "422": "corrupt, encrypted, empty",
        "429": "Try again in 12 seconds",
        "503": "Try again in 12 seconds",
    }
    for status, words in expected.items():
        assert words in messages[status], (status, messages[status])
        if status != "0":
            assert "detail" in messages[status]


@pytest.fixture(scope="module")
def open_server(
    tmp_path_factory: pytest.TempPathFactory, embedder: SentenceTransformerEmbedder
) -> Iterator[str]:
    container = make_ui_container(tmp_path_factory.mktemp("open"), embedder, auth="off", safety="off")
    server = serve(container)
    yield next(server)
    server.close()
    container.close()


def test_with_auth_off_the_page_says_so_and_asks_for_no_key(open_server: str, page: Page) -> None:
    page.goto(open_server)
    expect(page.locator(".notice.info")).to_contain_text("Authentication is off on this server")
    expect(page.get_by_role("heading", name="Sign in")).to_be_hidden()
    expect(page.get_by_role("button", name="Sign out")).to_be_hidden()
    expect(page.locator("#who")).to_have_text("Tenant: default")


def test_a_key_without_the_usage_scope_signs_in_and_the_usage_view_says_why_it_is_empty(
    ui: UiServer, page: Page
) -> None:
    gateway = ui.container.gateway
    scopes = Scopes.parse(["endpoint:answers", "endpoint:conversations", "endpoint:collections"])
    key, _ = create_key(gateway.store, gateway.clock, "acme", scopes, "no usage scope")
    sign_in(page, ui.url, key)
    expect(page.locator("#who")).to_have_text("Signed in")
    page.get_by_role("button", name="Usage").click()
    expect(page.locator(".notice.error")).to_contain_text("This API key is not allowed to do that")
    page.get_by_role("button", name="Documents").click()
    expect(page.locator(".notice.error").last).to_contain_text("scopes")


@pytest.fixture(scope="module")
def strict(
    tmp_path_factory: pytest.TempPathFactory, embedder: SentenceTransformerEmbedder
) -> Iterator[UiServer]:
    """A server with a 1 MB upload limit and 2 requests a minute per key."""
    data_dir = tmp_path_factory.mktemp("strict")
    container = make_ui_container(data_dir, embedder, max_upload_mb=1, key_rpm=2, safety="off")
    gateway = container.gateway
    key, _ = create_key(gateway.store, gateway.clock, "acme", Scopes(), "strict")
    server = serve(container)
    yield UiServer(next(server), container, key, container.engine)  # type: ignore[arg-type]
    server.close()
    container.close()


def test_a_file_over_the_upload_limit_and_a_rate_limit_say_what_to_do(
    strict: UiServer, page: Page, tmp_path: Path
) -> None:
    big = tmp_path / "big.txt"
    big.write_bytes(b"quack " * 300_000)
    sign_in(page, strict.url, strict.key)
    page.get_by_role("button", name="Documents").click()
    page.locator("#file-input").set_input_files([str(big)])
    status = page.locator(".upload", has_text="big.txt").locator(".upload-status")
    expect(status).to_contain_text("larger than this server accepts", timeout=30_000)
    expect(status).to_contain_text("VERITY_MAX_UPLOAD_MB")
    page.get_by_role("button", name="Chat", exact=True).click()
    for _ in range(3):
        page.get_by_label("Your question").fill("What do ducks eat?")
        page.get_by_role("button", name="Ask").click()
        expect(page.get_by_role("button", name="Ask")).to_be_enabled(timeout=60_000)
    failure = page.locator(".msg.answer.failed .answer-status").last
    expect(failure).to_contain_text("a rate limit was reached")
    expect(failure).to_contain_text(re.compile(r"Try again in \d+ seconds?"))
    screenshot(page, "rate-limited", tmp_path)
