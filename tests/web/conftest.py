"""A real server on loopback for the browser tests: real SQLite, FAISS, MiniLM and safety filters, and a
paced scripted engine (a word every few milliseconds, so a test can act while an answer streams)."""

from __future__ import annotations

import math
import os
import re
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from app.container import Container
from app.gateway.keys import Scopes, create_key
from app.settings import Settings
from generation.engines.protocol import ChatMessage, GenerationParams
from generation.engines.scripted import ScriptedEngine
from generation.prompts import CHECK_INSTRUCTION
from generation.rewrite import REWRITE_INSTRUCTION
from retrieval.embedders import SentenceTransformerEmbedder
from tests.app.conftest import serve

CHROMIUM = "/usr/bin/chromium"
AXE = Path(__file__).parent / "vendor" / "axe-core@4.14.1" / "axe.min.js"
UNANSWERABLE = "moon"
"""Questions with this word are judged not answerable by the engine's yes/no check."""
FILLER = (
    "The rest of this reply only keeps the stream going for a while so that a reader can click a "
    "citation chip before the answer is finished and see the passage it points to. It says nothing more "
    "of interest, and it ends here."
)


def first_sentence(text: str) -> str:
    """The passage's first whole sentence (one that starts with a capital), without Markdown marks and
    its final stop; the first 25 words when it has none."""
    words = " ".join(re.sub(r"[#*`]", " ", text).split())
    for sentence in re.split(r"(?<=[.!?])\s+", words):
        if len(sentence) >= 20 and sentence[0].isupper() and sentence[-1] in ".!?":
            return sentence.rstrip(".!?")
    return " ".join(words.split()[:25])


def grounded_reply(messages: Sequence[ChatMessage]) -> str:
    """Copy source 1's first sentence citing [1], then an unsupported sentence and a long filler."""
    user = messages[-1].content
    if REWRITE_INSTRUCTION in user:
        question = user.split("Question: ", 1)[1].split("\n", 1)[0]
        return re.sub(r"\bit\b", "IBM", question)
    found = re.search(r"\[1\] \([^\n]*\)\n(.+?)(?:\n\n\[2\] |\n\nQuestion: )", user, re.S)
    if found is None:
        return "No sources were given."
    return f"{first_sentence(found.group(1))} [1]. Penguins run the world's largest library [2]. {FILLER}"


class PacedEngine(ScriptedEngine):
    """The scripted engine, a word every `delay` seconds, that judges questions with UNANSWERABLE not
    answerable (the abstainer's yes/no check)."""

    def __init__(self, delay: float = 0.05) -> None:
        super().__init__(grounded_reply)
        self.delay = delay

    def stream(self, messages: Sequence[ChatMessage], params: GenerationParams) -> Iterator[str]:
        """The reply, word by word, paced."""
        for word in super().stream(messages, params):
            time.sleep(self.delay)
            yield word

    def choice_logprobs(self, messages: Sequence[ChatMessage], choices: Sequence[str]) -> dict[str, float]:
        """Log-probabilities of yes/no: 'no' for a question with UNANSWERABLE in it."""
        assert CHECK_INSTRUCTION in messages[-1].content
        question = messages[-1].content.rsplit("Question: ", 1)[-1]
        no = UNANSWERABLE in question.lower()
        high, low = math.log(0.97), math.log(0.01)
        return {c: (high if (c.lower() == "no") == no else low) for c in choices}


@dataclass
class UiServer:
    """The served app, its container and an API key of tenant acme."""

    url: str
    container: Container
    key: str
    engine: PacedEngine


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, object]) -> dict[str, object]:
    """Debian's chromium (Playwright's own browser download does not work offline)."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run scripts/install_browser.sh (apt-get install chromium)")
    args = ["--no-sandbox", "--disable-background-networking", "--disable-component-update", "--disable-gpu"]
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": args}


def make_ui_container(
    data_dir: Path, embedder: SentenceTransformerEmbedder, **overrides: object
) -> Container:
    """A container over `data_dir` with the paced engine; safety on (without the LLM second stage)."""
    values: dict[str, object] = {"max_answer_tokens": 120, "safety_encoder": "", **overrides}
    settings = Settings(data_dir=data_dir, **values)  # type: ignore[arg-type]
    return Container(settings, embedder=embedder, engine=PacedEngine())


XSS_TEXT = (
    "Xylophone notes live in this file: <script>window.__xss = 'script'</script> and "
    "<img src=x onerror=\"window.__xss = 'img'\"> and [a tune](javascript:window.__xss='link') "
    "are the three tricks it holds\n"
)


@pytest.fixture(scope="module")
def ui(
    tmp_path_factory: pytest.TempPathFactory, embedder: SentenceTransformerEmbedder, docs_mixed: Path
) -> Iterator[UiServer]:
    """The server, tenant acme's key, wiki.md in collection `default` and an XSS file in `xss`."""
    data_dir = tmp_path_factory.mktemp("ui")
    container = make_ui_container(data_dir, embedder)
    gateway = container.gateway
    key, _ = create_key(gateway.store, gateway.clock, "acme", Scopes(), "browser tests")
    xss = data_dir / "xylophone.txt"
    xss.write_text(XSS_TEXT, encoding="utf-8")
    for path, collection in ((docs_mixed / "wiki.md", "default"), (xss, "xss")):
        report = container.ingest_pipeline.ingest([path], tenant="acme", collection=collection)
        assert not report.failed
    server = serve(container)
    url = next(server)
    yield UiServer(url, container, key, container.engine)  # type: ignore[arg-type]
    server.close()
    container.close()


def screenshot(page: Page, name: str, tmp_path: Path) -> Path:
    """Save a screenshot: to docs/img/ui/NAME.png when VERITY_UI_SCREENSHOTS=1, else to tmp_path."""
    folder = Path(__file__).resolve().parents[2] / "docs" / "img" / "ui"
    if os.environ.get("VERITY_UI_SCREENSHOTS") != "1":
        folder = tmp_path
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.png"
    page.screenshot(path=str(path), full_page=False)
    return path


def sign_in(page: Page, url: str, key: str) -> None:
    """Open the UI and sign in with `key`."""
    page.goto(url)
    page.get_by_label("API key").fill(key)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("button", name="New chat")).to_be_visible()
