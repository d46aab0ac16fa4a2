"""`eval conversations` on a small SQuAD-format file: real MiniLM and FAISS, the scripted engine rewrites."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path

import pytest

from eval.conversations import conversations_headline, evaluate_conversations, load_followups
from eval.errors import DatasetError
from generation.engines.protocol import ChatMessage
from generation.engines.scripted import ScriptedEngine
from retrieval.embedders import SentenceTransformerEmbedder
from retrieval.index import StoreBackend
from retrieval.stores.faiss_store import FaissVectorStore

SQUAD = {
    "version": "v2.0",
    "data": [
        {
            "title": "Eiffel_Tower",
            "paragraphs": [
                {
                    "context": "The Eiffel Tower in Paris was designed by Gustave Eiffel's company.",
                    "qas": [],
                },
                {"context": "The Eiffel Tower was completed in March 1889 for the World's Fair.", "qas": []},
            ],
        },
        {
            "title": "Golden_Gate_Bridge",
            "paragraphs": [
                {"context": "The Golden Gate Bridge's chief engineer was Joseph Strauss.", "qas": []},
                {"context": "The Golden Gate Bridge opened to traffic in May 1937.", "qas": []},
            ],
        },
    ],
}
REWRITES = {
    "When was it completed?": "When was the Eiffel Tower completed?",
    "When did it open?": "When did the Golden Gate Bridge open?",
    "Who painted it?": "Who painted the Golden Gate Bridge?",
}


def turn(question: str, standalone: str, where: list[int], answers: list[str]) -> dict[str, object]:
    return {
        "question": question,
        "standalone": standalone,
        "paragraph_index": where,
        "answers": answers,
        "is_impossible": not answers,
    }


FOLLOWUPS = [
    {
        "id": "tower",
        "turns": [
            turn(
                "Who designed the Eiffel Tower?", "Who designed the Eiffel Tower?", [0, 0], ["Gustave Eiffel"]
            ),
            turn("When was it completed?", "When was the Eiffel Tower completed?", [0, 1], ["March 1889"]),
        ],
    },
    {
        "id": "bridge",
        "turns": [
            turn("Who was the chief engineer of the Golden Gate Bridge?", "same", [1, 0], ["Joseph Strauss"]),
            turn("When did it open?", "When did the Golden Gate Bridge open?", [1, 1], ["May 1937"]),
            turn("Who painted it?", "Who painted the Golden Gate Bridge?", [1, 1], []),
        ],
    },
]


def rewrite(messages: Sequence[ChatMessage]) -> str:
    found = re.search(r"Question: (.*)\n", messages[-1].content)
    assert found is not None
    return REWRITES[found.group(1)]


def test_writes_the_documented_summary(tmp_path: Path, embedder: SentenceTransformerEmbedder) -> None:
    squad, followups = tmp_path / "squad.json", tmp_path / "followups.jsonl"
    squad.write_text(json.dumps(SQUAD))
    followups.write_text("".join(json.dumps(c) + "\n" for c in FOLLOWUPS))
    backend = StoreBackend("faiss", FaissVectorStore, FaissVectorStore.load)
    engine = ScriptedEngine(rewrite)
    cache = tmp_path / "turns.jsonl"
    result = evaluate_conversations(squad, followups, embedder, engine, backend, cache=cache)
    assert result["followups"]["n"] == 2  # type: ignore[index]
    assert set(result["followups"]["recall@5"]) == {"rewritten", "raw", "standalone"}  # type: ignore[index]
    assert result["followups"]["recall@5"]["rewritten"] == 1.0  # type: ignore[index]
    assert result["unanswerable"] == {"n": 1, "abstained": None}  # no abstainer given
    per_turn = result["per_turn"]
    assert isinstance(per_turn, list) and len(per_turn) == 5
    assert (
        per_turn[1]["search_query"] == "When was the Eiffel Tower completed? Who designed the Eiffel Tower?"
    )
    assert conversations_headline(result) == {  # what `verity eval all` gates on; no abstention judged
        "conversations.recall_rewritten": {"value": 1.0, "ci95": None},
        "conversations.recall_raw": {"value": result["followups"]["recall@5"]["raw"], "ci95": None},  # type: ignore[index]
    }
    calls = len(engine.prompts)
    again = evaluate_conversations(squad, followups, embedder, engine, backend, cache=cache)
    assert len(engine.prompts) == calls and again["followups"] == result["followups"]  # resumed


def test_a_malformed_row_is_named(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text(json.dumps(FOLLOWUPS[0]) + "\n" + '{"id": "x", "turns": [{"question": "q"}]}\n')
    with pytest.raises(DatasetError, match=r"bad\.jsonl:2"):
        load_followups(path)


def test_the_kept_set_has_enough_follow_ups_of_each_kind() -> None:
    conversations = load_followups(Path(__file__).parents[2] / "eval/data/followups_squad_half_a.jsonl")
    followups = [t for c in conversations for t in c.turns[1:]]
    assert len(followups) >= 40 and sum(t.is_impossible for t in followups) >= 10
    assert all(not c.turns[0].is_impossible for c in conversations)
