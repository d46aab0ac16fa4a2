"""`verity chat`: a terminal conversation over real MiniLM, SQLite and FAISS, with the scripted engine."""

from __future__ import annotations

import io
from pathlib import Path

from rich.console import Console
from typer.testing import CliRunner

from app.cli import app
from app.cli_chat import ChatSession, converse
from app.container import Container
from app.settings import Settings
from generation.engines.scripted import ScriptedEngine
from retrieval.embedders import SentenceTransformerEmbedder
from retrieval.types import Scope
from tests.app.test_http_conversations import BRIDGE, EIFFEL, scripted_reply


def test_follow_ups_in_the_terminal_are_searched_standalone_and_list_their_sources(
    tmp_path: Path, embedder: SentenceTransformerEmbedder
) -> None:
    (tmp_path / "eiffel.md").write_text(EIFFEL)
    (tmp_path / "bridge.md").write_text(BRIDGE)
    settings = Settings(data_dir=tmp_path / "data", max_answer_tokens=64, safety="off")
    container = Container(settings, embedder=embedder, engine=ScriptedEngine(scripted_reply))
    container.ingest_pipeline.ingest([tmp_path / "eiffel.md", tmp_path / "bridge.md"], collection="sights")
    session = ChatSession(container.answers, container.rewriter, Scope("default", "sights"), 5)
    out, notes = io.StringIO(), io.StringIO()
    lines = ["Who designed the Eiffel Tower?", "When was it completed?", "", "never asked"]
    answered = converse(session, lines, Console(file=out, width=200), Console(file=notes, width=200))
    container.close()
    assert answered == 2 and len(session.turns) == 2
    assert "1889" in out.getvalue().splitlines()[1]
    assert "searched: When was the Eiffel Tower completed?" in notes.getvalue()
    assert notes.getvalue().count("Sources cited") == 2 and "eiffel.md" in notes.getvalue()


def test_chat_is_a_verity_command() -> None:
    result = CliRunner().invoke(app, ["chat", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0 and "--collection" in result.output
