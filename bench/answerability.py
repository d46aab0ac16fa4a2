"""The abstention decision's cost: the trained cross-encoder against the 1.5B yes/no check, same run.

    .venv/bin/python -m bench.answerability --shown .cache/answerability_shown_top3.json [--questions 10]
        [--model ~/.cache/verity/models/answerability]

`--shown` is the passages-per-question JSON `verity eval answerability --shown-cache` writes (questions of
SQuAD 2.0 dev half A and the passages retrieval showed them). For each of the first `--questions`, times
`CrossEncoder.score` (the trained evidence) and `support_log_odds` with the configured llama.cpp engine
(the check it replaces), and prints the medians and their ratio. Without `--model` (or when that folder
does not exist) the packaged MiniLM with an untrained head is timed: the same network, so the same cost.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

from app.container import Container, offline_environment
from app.settings import Settings
from eval.qa import load_squad
from eval.training.answerability import initial_model
from generation.abstention import support_log_odds
from generation.answerability import CrossEncoder, load_cross_encoder
from retrieval.embedders import PACKAGED_MINILM, resolve_model_location
from retrieval.types import Chunk, Passage

SQUAD = Path("../shared/data/squad_v2_dev_half_a/dev-v2.0-half-a.json")


def passages_of(texts: list[str]) -> list[Passage]:
    """Passages over chunks holding the shown texts."""
    return [
        Passage(Chunk(n, f"doc_{n}", "eval", "squad", 0, t, "squad", None, None, 0, len(t)), 1.0)
        for n, t in enumerate(texts, start=1)
    ]


def encoder(folder: Path | None) -> CrossEncoder:
    """The trained model when its folder exists, else the untrained one of the same shape."""
    if folder is not None and folder.is_dir():
        return load_cross_encoder(folder)
    return initial_model(resolve_model_location(PACKAGED_MINILM))


def main() -> None:
    """Time both decisions on the same questions and passages."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--shown", type=Path, required=True)
    parser.add_argument("--questions", type=int, default=10)
    parser.add_argument("--model", type=Path, default=None)
    args = parser.parse_args()
    offline_environment()
    shown = json.loads(args.shown.read_text())
    _, questions = load_squad(SQUAD)
    text_of = {q.id: q.question for q in questions}
    chosen = [(text_of[qid], passages_of(texts)) for qid, texts in list(shown.items())[: args.questions]]
    model = encoder(args.model)
    engine = Container(Settings()).engine
    model.score(*chosen[0])  # warm up both
    support_log_odds(engine, *chosen[0])  # type: ignore[arg-type]
    trained, check = [], []
    for question, passages in chosen:
        start = time.perf_counter()
        model.score(question, passages)
        trained.append(time.perf_counter() - start)
        start = time.perf_counter()
        support_log_odds(engine, question, passages)  # type: ignore[arg-type]
        check.append(time.perf_counter() - start)
    a, b = statistics.median(trained), statistics.median(check)
    print(f"{len(chosen)} questions, {len(chosen[0][1])} passages each")
    print(f"trained cross-encoder: median {a * 1000:.0f} ms")
    print(f"1.5B yes/no check:     median {b * 1000:.0f} ms")
    print(f"ratio trained / check: {a / b:.2f}")


if __name__ == "__main__":
    main()
