"""First token: Verity's whole answer pipeline against a raw llama-cpp-python call on the same prompt.

    .venv/bin/python -m bench.first_token [--model qwen2.5-coder-0.5b-instruct-q4_k_m] [--questions 4]

Questions and passages come from SQuAD half A (one paragraph and its neighbours as sources). Both paths
use the same `Llama` object, so they see the same KV cache. Before each timed call the cache is primed
with a different question's prompt, so exactly the fixed system prompt (and the "Sources:" header) is
warm, as for a new question in a running server. Prints time to first token and tokens/s of both, and the
ratio pipeline / raw; with `--abstainer`, the pipeline also runs the calibrated answerability check.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from app.settings import Settings
from eval.qa import load_squad
from generation.abstention import Abstainer, AbstentionModel
from generation.answer import AnswerPipeline, DeltaEvent, DoneEvent
from generation.engines.llama_cpp import LlamaCppEngine
from generation.engines.protocol import GenerationParams
from generation.models import resolve_model_path
from generation.prompts import build_messages
from retrieval.search import SearchResult
from retrieval.types import Chunk, Passage, Scope

ALWAYS_ANSWER = AbstentionModel({"support": 1.0}, 100.0, 0.5)
"""Runs the engine's answerability check but always answers, so every question is timed to a token."""
SQUAD = Path("../shared/data/squad_v2_dev_half_a/dev-v2.0-half-a.json")


class ParagraphRetriever:
    """Returns the given passages for every question (retrieval is not what this bench times)."""

    def __init__(self, passages: list[Passage]) -> None:
        self.passages = passages

    def search(self, query: str, scope: Scope, top_k: int) -> SearchResult:
        return SearchResult(self.passages[:top_k], {"retrieve": 0.0})


def cases(n: int) -> list[tuple[str, list[Passage]]]:
    """`n` answerable questions, each with its paragraph and the two following ones as passages."""
    paragraphs, questions = load_squad(SQUAD)
    ids = list(paragraphs)
    out: list[tuple[str, list[Passage]]] = []
    for question in [q for q in questions if q.answerable][::97][:n]:
        at = ids.index(question.paragraph_id)
        chosen = [ids[(at + k) % len(ids)] for k in range(3)]
        passages = [
            Passage(Chunk(i, pid, "b", "b", 0, paragraphs[pid][1], pid, None, None, 0, 0), 1.0, {})
            for i, pid in enumerate(chosen)
        ]
        out.append((question.question, passages))
    return out


def time_pipeline(pipeline: AnswerPipeline, question: str) -> tuple[float, float]:
    """Seconds to the first delta and completion tokens per second after it."""
    start = time.perf_counter()
    first = 0.0
    for event in pipeline.run(question, Scope(), top_k=3):
        if isinstance(event, DeltaEvent) and not first:
            first = time.perf_counter() - start
        if isinstance(event, DoneEvent):
            total = time.perf_counter() - start
            return first, event.usage.completion_tokens / max(1e-9, total - first)
    raise RuntimeError("the pipeline ended without a done event")


def time_raw(engine: LlamaCppEngine, prompt: str, params: GenerationParams) -> tuple[float, float]:
    """The same figures for `Llama.create_completion` streaming the rendered prompt."""
    llm = engine.llama
    start = time.perf_counter()
    first, tokens = 0.0, 0
    for chunk in llm.create_completion(prompt, max_tokens=params.max_tokens, temperature=0.0, stream=True):
        if not first:
            first = time.perf_counter() - start
        tokens += 1 if chunk["choices"][0]["text"] else 0
    total = time.perf_counter() - start
    return first, tokens / max(1e-9, total - first)


def main() -> None:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--model", default=Settings().llm_model)
    parser.add_argument("--questions", type=int, default=4)
    parser.add_argument("--max-tokens", type=int, default=32)
    parser.add_argument("--abstainer", action="store_true")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    settings = Settings()
    path = resolve_model_path(args.model, settings.model_cache_dir)
    engine = LlamaCppEngine(path, settings.llm_context_window, settings.llm_threads, settings.llm_gpu_layers)
    params = GenerationParams(max_tokens=args.max_tokens, temperature=0.0)
    work = cases(args.questions + 1)
    primer, work = work[0], work[1:]
    rows: dict[str, list[float]] = {"pipeline_ttft": [], "raw_ttft": [], "pipeline_tps": [], "raw_tps": []}
    for question, passages in work:
        abstainer = Abstainer(ALWAYS_ANSWER, engine) if args.abstainer else None
        pipeline = AnswerPipeline(ParagraphRetriever(passages), engine, params=params, abstainer=abstainer)
        prompt = engine.render_prompt(build_messages(question, passages))
        prime = engine.render_prompt(build_messages(primer[0], primer[1]))
        list(engine.llama.create_completion(prime, max_tokens=1))
        ttft, tps = time_pipeline(pipeline, question)
        list(engine.llama.create_completion(prime, max_tokens=1))
        raw_ttft, raw_tps = time_raw(engine, prompt, params)
        for key, value in zip(rows, (ttft, raw_ttft, tps, raw_tps), strict=True):
            rows[key].append(value)
    medians = {k: round(statistics.median(v), 4) for k, v in rows.items()}
    result: dict[str, object] = {"model": path.stem, "questions": len(work), "threads": settings.llm_threads}
    result.update(medians, abstainer=args.abstainer)
    result["ttft_ratio_pipeline_over_raw"] = round(medians["pipeline_ttft"] / medians["raw_ttft"], 3)
    print(json.dumps(result, indent=2))
    if args.out:
        args.out.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
