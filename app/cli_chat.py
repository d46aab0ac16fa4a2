"""`verity chat`: an interactive conversation with the documents in the terminal.

Each answer streams as it is written, then its sources are listed. Follow-ups may refer to earlier turns
("when was it built?"): they are made standalone for search the way the API's conversations do (the line
`searched: ...` shows it), and earlier turns go into the prompt within their share of the budget. The
conversation lives in this process; it is not stored (the API's `/v1/conversations` stores them).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from app.cli_console import console, err
from app.container import Container
from app.settings import Settings
from generation.answer import AnswerEvent, AnswerPipeline, DeltaEvent, DoneEvent, SourcesEvent
from generation.history import Turn, turn_messages
from generation.prompts import source_label
from generation.rewrite import QueryRewriter
from retrieval.types import DEFAULT_TENANT, Scope

PROMPT = "you> "


class ChatSession:
    """One conversation in the terminal: its turns, and the pipeline and rewriter that answer them."""

    def __init__(self, pipeline: AnswerPipeline, rewriter: QueryRewriter, scope: Scope, top_k: int) -> None:
        self.pipeline, self.rewriter, self.scope, self.top_k = pipeline, rewriter, scope, top_k
        self.turns: list[Turn] = []

    def ask(self, question: str, out: Console, notes: Console) -> DoneEvent | None:
        """Answer the next question, streaming it to `out`; the sources and notes go to `notes`."""
        query = self.rewriter.standalone(question, self.turns)
        if query.method in ("engine", "fallback"):
            notes.print(f"[dim]searched: {query.searched}[/dim]", highlight=False)
        standalone = query.text if query.method == "engine" else None
        history = turn_messages(self.turns)
        events = self.pipeline.run(
            question, self.scope, self.top_k, history=history, search_query=query.searched,
            standalone=standalone,
        )  # fmt: skip
        done = _stream(events, out, notes)
        if done is not None:
            self.turns.append(Turn(question, done.answer, query.text))
            _sources(done, notes)
        return done


def _stream(events: Iterator[AnswerEvent], out: Console, notes: Console) -> DoneEvent | None:
    done: DoneEvent | None = None
    for event in events:
        if isinstance(event, SourcesEvent) and not event.passages:
            notes.print("[yellow]no passage matched: is anything ingested?[/yellow]")
        elif isinstance(event, DeltaEvent):
            out.print(event.text, end="", markup=False, highlight=False)
        elif isinstance(event, DoneEvent):
            done = event
    out.print()
    return done


def _sources(done: DoneEvent, notes: Console) -> None:
    """The cited passages, and what the history budget left out."""
    if done.citations:
        table = Table("#", "source", "passage", title="Sources cited", title_justify="left")
        for c in done.citations:
            text = " ".join(c.passage.reader_text.split())
            shown = text[:160] + ("…" if len(text) > 160 else "")
            table.add_row(str(c.number), source_label(c.passage), shown)
        notes.print(table)
    receipt = done.usage.history
    if receipt is not None and (receipt.summarised or receipt.dropped):
        notes.print(
            f"[dim]history: {receipt.kept} turns kept, {receipt.summarised} summarised, "
            f"{receipt.dropped} dropped[/dim]"
        )


def converse(session: ChatSession, lines: Iterable[str], out: Console, notes: Console) -> int:
    """Answer each line until an empty one; returns the number of questions answered."""
    answered = 0
    for line in lines:
        question = line.strip()
        if not question:
            break
        session.ask(question, out, notes)
        answered += 1
    return answered


def _typed_lines() -> Iterator[str]:
    while True:
        try:
            yield console.input(PROMPT)
        except (EOFError, KeyboardInterrupt):
            return


def chat(
    collection: Annotated[str | None, typer.Option(help="talk to this collection's documents")] = None,
    top_k: Annotated[int | None, typer.Option(help="passages to retrieve per question")] = None,
) -> None:
    """Chat with the documents: follow-ups may refer back; each answer streams, then its sources."""
    container = Container(Settings())
    with err.status("loading models"):
        session = ChatSession(
            container.answers, container.rewriter, Scope(DEFAULT_TENANT, collection),
            top_k or container.settings.top_k,
        )  # fmt: skip
    err.print("Ask a question; follow-ups may refer back. An empty line or Ctrl-D ends the chat.")
    try:
        converse(session, _typed_lines(), console, err)
    finally:
        container.close()
