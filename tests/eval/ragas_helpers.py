"""A small SQuAD-format dataset and a fake answer setup for ragas-run tests (no model needed)."""

from __future__ import annotations

import json
import re
import typing as t
from collections.abc import Sequence
from pathlib import Path

from app.container import FAISS_BACKEND
from eval.ragas_answers import AnswerSetup
from eval.ragas_datasets import load_dataset
from eval.ragas_judge import JsonCompleter, JudgeCache, LocalJudge, VerityEmbeddings
from eval.ragas_run import RunConfig, run_ragas
from eval.ragas_scoring import Scorers, build_scorers
from generation.engines.protocol import ChatMessage, GenerationParams
from generation.engines.scripted import ScriptedEngine
from generation.prompts import NOT_IN_DOCUMENTS
from retrieval.embedders import HashingEmbedder

FACTS = [
    ("Vistula", "The Vistula river flows north through Warsaw. Its delta lies near Gdansk.", "north"),
    ("Copernicus", "Copernicus proposed a heliocentric model. He worked in Frombork cathedral.", "Frombork"),
    ("Chopin", "Chopin composed many mazurkas for piano. He left Warsaw in 1830 for Paris.", "1830"),
    ("Curie", "Marie Curie discovered polonium with Pierre. She won two Nobel prizes.", "polonium"),
    ("Amber", "Baltic amber is fossil tree resin. Fishermen collect it on beaches after storms.", "resin"),
    (
        "Bison",
        "European bison live in Bialowieza forest. The herd there was restored after 1929.",
        "Bialowieza",
    ),
]
QUESTIONS = {
    "Vistula": "Which direction does the Vistula river flow through Warsaw?",
    "Copernicus": "In which cathedral did Copernicus work?",
    "Chopin": "In which year did Chopin leave Warsaw for Paris?",
    "Curie": "Which element did Marie Curie discover with Pierre?",
    "Amber": "What is Baltic amber made of, fossil tree what?",
    "Bison": "In which forest do European bison live?",
}


def write_squad(path: Path) -> Path:
    """Six one-paragraph articles, each with an answerable question and an unanswerable one."""
    data = []
    for title, context, answer in FACTS:
        qas = [
            {
                "id": f"{title}-a",
                "question": QUESTIONS[title],
                "answers": [{"text": answer, "answer_start": context.find(answer)}],
                "is_impossible": False,
            },
            {
                "id": f"{title}-u",
                "question": f"UNANSWERABLE: who painted {title} in 1700?",
                "answers": [],
                "is_impossible": True,
            },
        ]
        data.append({"title": title, "paragraphs": [{"context": context, "qas": qas}]})
    path.write_text(json.dumps({"version": "v2.0", "data": data}))
    return path


def _reply(messages: Sequence[ChatMessage]) -> str:
    """Refuse questions marked unanswerable; otherwise quote the source sentence that best matches."""
    user = messages[-1].content
    question = user.split("Question:", 1)[1].split("\n", 1)[0]
    if "UNANSWERABLE" in question:
        return NOT_IN_DOCUMENTS
    source = user.split("[1]", 1)[1].split("\n", 1)[1].split("\n\n", 1)[0]
    asked = set(re.findall(r"\w+", question.lower()))
    sentences = [s.strip() for s in re.split(r"(?<=\.)\s+", source) if s.strip()]
    best = max(sentences, key=lambda s: len(asked & set(re.findall(r"\w+", s.lower()))))
    return f"{best} [1]"


def fake_setup(engine: ScriptedEngine | None = None) -> AnswerSetup:
    """Verity's answer pipeline with a hashing embedder and a scripted engine."""
    return AnswerSetup(
        HashingEmbedder(256),
        engine or ScriptedEngine(_reply),
        FAISS_BACKEND,
        GenerationParams(max_tokens=64),
        None,
        top_k=2,
    )


def run_fake(
    tmp_path: Path, complete: JsonCompleter, engine: ScriptedEngine | None = None
) -> dict[str, t.Any]:
    """A whole ragas run over the six-article dataset, into tmp_path/out (the judge under `_judge`)."""
    data = load_dataset(write_squad(tmp_path / "mini.json"))
    judge, scorers = fake_judge(complete, tmp_path / "out" / "cache" / "judge.sqlite3")
    config = RunConfig(str(tmp_path / "mini.json"), None, 0, 2)
    models = {"answer": "scripted", "judge": judge.model, "embeddings": "hashing"}
    report = run_ragas(
        data, data.samples, fake_setup(engine), judge, scorers, config, tmp_path / "out", models
    )
    return report | {"_judge": judge}


def fake_judge(complete: JsonCompleter, cache: Path | None = None) -> tuple[LocalJudge, Scorers]:
    """A `LocalJudge` around `complete`, and ragas' metrics wired to it and to hashing embeddings."""
    judge = LocalJudge(complete, "fake-judge", JudgeCache(cache) if cache else None, attempts=2)
    return judge, build_scorers(judge, VerityEmbeddings(HashingEmbedder(256)))
