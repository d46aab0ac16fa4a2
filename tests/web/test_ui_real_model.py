"""One question through the chat UI answered by the real llama.cpp model (Qwen2.5-Coder-1.5B)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from app.container import Container
from app.gateway.keys import Scopes, create_key
from app.settings import Settings
from generation.engines.llama_cpp import LlamaCppEngine
from retrieval.embedders import SentenceTransformerEmbedder
from tests.app.conftest import serve
from tests.conftest import TEST_MODEL
from tests.web.conftest import UiServer, screenshot, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.llm]


@pytest.fixture(scope="module")
def real_ui(
    tmp_path_factory: pytest.TempPathFactory,
    embedder: SentenceTransformerEmbedder,
    engine: LlamaCppEngine,
    docs_mixed: Path,
) -> Iterator[UiServer]:
    data_dir = tmp_path_factory.mktemp("real-ui")
    settings = Settings(data_dir=data_dir, llm_model=TEST_MODEL, max_answer_tokens=80, safety_encoder="")
    container = Container(settings, embedder=embedder, engine=engine)
    container.ingest_pipeline.ingest([docs_mixed / "wiki.md"], tenant="acme")
    gateway = container.gateway
    key, _ = create_key(gateway.store, gateway.clock, "acme", Scopes(), "real model")
    server = serve(container)
    yield UiServer(next(server), container, key, engine)  # type: ignore[arg-type]
    server.close()
    container.close()


def test_the_real_model_answers_in_the_page_with_a_citation_that_opens(
    real_ui: UiServer, page: Page, tmp_path: Path
) -> None:
    sign_in(page, real_ui.url, real_ui.key)
    page.get_by_label("Your question").fill("In which year was IBM founded?")
    page.get_by_role("button", name="Ask").click()
    answer = page.locator(".msg.answer").last
    expect(answer).not_to_have_attribute("aria-busy", "true", timeout=300_000)
    expect(answer).to_contain_text("1911")
    chip = answer.locator(".chip").first
    chip.click()
    expect(page.locator("#passage-meta")).to_contain_text("wiki.md")
    expect(page.locator("#passage-text")).to_contain_text("1911")
    screenshot(page, "real-model", tmp_path)
