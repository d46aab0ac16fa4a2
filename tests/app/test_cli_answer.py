"""`verity ask` against a running server (VERITY_URL): the answer streams with its citations corrected
and the CLI process loads no model; on abstention it shows why and the closest passages. The server is
real (uvicorn on loopback, SQLite, FAISS, MiniLM); its engine is scripted so the reply is known."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from app.container import Container
from app.settings import Settings
from generation.engines.protocol import ChatMessage
from generation.engines.scripted import ScriptedEngine
from generation.prompts import NOT_IN_DOCUMENTS
from retrieval.embedders import SentenceTransformerEmbedder
from tests.app.conftest import serve
from tests.conftest import REPO

REGIONS = "# Regional sales\n\n| region | change |\n| --- | --- |\n| North | -3 |\n| South | 12 |\n"
BIRDS = "# Birds\n\nDucks eat grasses, aquatic plants, fish, insects and small molluscs.\n"
PROBE = (
    "import sys\n"
    "from app.cli import main\n"
    "try:\n    main()\n"
    "finally:\n"
    "    loaded = [m for m in ('llama_cpp', 'sentence_transformers', 'torch') if m in sys.modules]\n"
    "    print('MODULES', loaded, file=sys.stderr)\n"
)


def reply(messages: Sequence[ChatMessage]) -> str:
    """Cite the birds source for the regions figure (a wrong marker); decline questions about tea."""
    prompt = messages[-1].content
    if "tea" in prompt.rsplit("Question:", 1)[-1]:
        return NOT_IN_DOCUMENTS
    birds = re.search(r"\[(\d+)\] \(birds\.md", prompt)
    return f"The North region change was -3 [{birds.group(1) if birds else 9}]."


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, embedder: SentenceTransformerEmbedder) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("files")
    (folder / "regions.md").write_text(REGIONS)
    (folder / "birds.md").write_text(BIRDS)
    settings = Settings(data_dir=tmp_path_factory.mktemp("verity"), safety="off", abstention=False)
    container = Container(settings, embedder=embedder, engine=ScriptedEngine(reply))
    assert not container.ingest_pipeline.ingest([folder], collection="sales").failed
    running = serve(container)
    yield next(running)
    running.close()
    container.close()


def ask(url: str, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`verity ask ARGS` in a fresh process pointed at the server (and at an empty data directory)."""
    env = {**os.environ, "VERITY_URL": url, "VERITY_DATA_DIR": str(tmp_path), "COLUMNS": "200"}
    env["PYTHONPATH"] = str(REPO)
    command = [sys.executable, "-c", PROBE, "ask", *args]
    return subprocess.run(command, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=300)


def test_ask_answers_from_the_server_without_loading_a_model(server: str, tmp_path: Path) -> None:
    done = ask(server, tmp_path, "How did sales change in the North region?", "--collection", "sales")
    assert done.returncode == 0, done.stderr
    assert "MODULES []" in done.stderr
    regions = re.search(r"│ (\d+) +│ regions\.md", done.stdout)
    assert regions is not None, done.stdout
    assert f"The North region change was -3 [{regions.group(1)}]." in done.stdout
    assert "With its citations corrected:" in done.stdout and "Sources cited" in done.stdout


def test_a_declined_question_shows_why_and_the_closest_passages(server: str, tmp_path: Path) -> None:
    done = ask(server, tmp_path, "Which tea do the ducks drink?", "--collection", "sales")
    assert done.returncode == 0, done.stderr
    assert NOT_IN_DOCUMENTS in done.stdout and "Closest passages" in done.stdout
    assert "Declined: the model found no answer in the closest passages." in done.stderr
    assert "birds.md" in done.stdout


def test_an_unknown_collection_on_the_server_exits_non_zero_with_its_message(
    server: str, tmp_path: Path
) -> None:
    done = ask(server, tmp_path, "How did sales change?", "--collection", "sails")
    assert done.returncode == 1 and "no collection named 'sails'" in done.stderr


def test_a_declined_chat_completion_carries_why_and_the_closest_passages(server: str) -> None:
    import httpx

    body = {
        "model": "verity:sales",
        "messages": [{"role": "user", "content": "Which tea do the ducks drink?"}],
    }
    reply = httpx.post(f"{server}/v1/chat/completions", json=body, timeout=120).json()
    assert reply["choices"][0]["message"]["content"] == NOT_IN_DOCUMENTS
    assert reply["declined_because"] == "the model found no answer in the closest passages"
    assert any("birds.md" in str(passage) for passage in reply["closest_passages"])
    assert reply["search_query"] == "Which tea do the ducks drink?"
