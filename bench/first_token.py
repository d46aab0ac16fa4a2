"""First token: Verity's default answer path against today's default and a raw llama-cpp-python call.

    .venv/bin/python -m bench.first_token [--model qwen2.5-coder-0.5b-instruct-q4_k_m] [--questions 4]

Questions and passages come from SQuAD half A (one paragraph and its neighbours as sources). Both paths
use the same `Llama` object, so they see the same KV cache. Before each timed call the cache is primed
with a different question's prompt, so exactly the fixed system prompt (and the "Sources:" header) is
warm, as for a new question in a running server. Three paths are timed on each question, in the same run:
`baseline`, the pipeline as it was by default before context compression (one llama.cpp thread, whole
passages); `raw`, a raw call on that uncompressed prompt with one thread; and `default`, the pipeline with
the settings' defaults (`VERITY_LLM_THREADS`, 0: adaptive, picked before each question as the engine
would; context compression with the embedder). Prints the median
time to first token and tokens/s of each, the ratios default / baseline and default / raw, and the
prompt breakdown (tokens by part, prompt-reading rate) of both pipelines. With `--abstainer`, the
pipelines also run the calibrated answerability check (the default answer path does).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import llama_cpp

from app.settings import Settings
from eval.qa import load_squad
from generation.abstention import Abstainer, AbstentionModel
from generation.answer import AnswerPipeline, DeltaEvent, DoneEvent
from generation.engines.llama_cpp import LlamaCppEngine
from generation.engines.protocol import GenerationParams
from generation.engines.threads import adaptive_threads
from generation.models import resolve_model_path
from generation.prompts import build_messages
from retrieval.compress import ContextCompressor
from retrieval.embedders import SentenceTransformerEmbedder
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


def time_pipeline(pipeline: AnswerPipeline, question: str) -> tuple[float, float, dict[str, float]]:
    """Seconds to the first delta, completion tokens per second after it, and the prompt breakdown."""
    start = time.perf_counter()
    first = 0.0
    for event in pipeline.run(question, Scope(), top_k=3):
        if isinstance(event, DeltaEvent) and not first:
            first = time.perf_counter() - start
        if isinstance(event, DoneEvent):
            total = time.perf_counter() - start
            return first, event.usage.completion_tokens / max(1e-9, total - first), parts(event)
    raise RuntimeError("the pipeline ended without a done event")


def parts(done: DoneEvent) -> dict[str, float]:
    """The answer's prompt tokens by part and its prompt-reading rate."""
    b = done.usage.breakdown
    if b is None:
        return {}
    return {
        "prompt_tokens": done.usage.prompt_tokens,
        "instructions": b.instructions_tokens,
        "sources": b.sources_tokens,
        "question": b.question_tokens,
        "history": b.history_tokens,
        "prompt_tokens_per_s": b.prompt_tokens_per_s,
        "answerability_ms": b.answerability_ms,
    }


def set_threads(engine: LlamaCppEngine, threads: int) -> None:
    """Switch the engine's llama.cpp threads (generation and prompt batches) between timed calls."""
    llama_cpp.llama_set_n_threads(engine.llama.ctx, threads, threads)


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
    engine = LlamaCppEngine(path, settings.llm_context_window, 1, settings.llm_gpu_layers)
    compressor = (
        ContextCompressor(SentenceTransformerEmbedder(), neighbours=settings.compression_neighbours)
        if settings.context_compression
        else None
    )
    params = GenerationParams(max_tokens=args.max_tokens, temperature=0.0)
    work = cases(args.questions + 1)
    primer, work = work[0], work[1:]
    prime = engine.render_prompt(build_messages(primer[0], primer[1]))
    rows: dict[str, list[float]] = {}
    breakdowns: dict[str, list[dict[str, float]]] = {"baseline": [], "default": []}
    for question, passages in work:
        abstainer = Abstainer(ALWAYS_ANSWER, engine) if args.abstainer else None
        retriever = ParagraphRetriever(passages)
        runs = {
            "baseline": (1, AnswerPipeline(retriever, engine, params=params, abstainer=abstainer)),
            "default": (
                settings.llm_threads or adaptive_threads(),
                AnswerPipeline(retriever, engine, params=params, abstainer=abstainer, compressor=compressor),
            ),
        }
        for name, (threads, pipeline) in runs.items():
            set_threads(engine, threads)
            rows.setdefault(f"{name}_threads", []).append(threads)
            list(engine.llama.create_completion(prime, max_tokens=1))
            ttft, tps, breakdown = time_pipeline(pipeline, question)
            rows.setdefault(f"{name}_ttft", []).append(ttft)
            rows.setdefault(f"{name}_tps", []).append(tps)
            breakdowns[name].append(breakdown)
        set_threads(engine, 1)
        list(engine.llama.create_completion(prime, max_tokens=1))
        raw_ttft, raw_tps = time_raw(engine, engine.render_prompt(build_messages(question, passages)), params)
        rows.setdefault("raw_ttft", []).append(raw_ttft)
        rows.setdefault("raw_tps", []).append(raw_tps)
    medians = {k: round(statistics.median(v), 4) for k, v in rows.items()}
    result: dict[str, object] = {
        "model": path.stem,
        "questions": len(work),
        "threads": {"baseline": 1, "raw": 1, "default": settings.llm_threads or "adaptive"},
        "context_compression": compressor is not None,
        "compression_neighbours": settings.compression_neighbours if compressor is not None else None,
        "abstainer": args.abstainer,
        "load_average": [round(x, 2) for x in os.getloadavg()],
        **medians,
        "ttft_ratio_default_over_baseline": round(medians["default_ttft"] / medians["baseline_ttft"], 3),
        "ttft_ratio_default_over_raw": round(medians["default_ttft"] / medians["raw_ttft"], 3),
        "ttft_ratio_baseline_over_raw": round(medians["baseline_ttft"] / medians["raw_ttft"], 3),
        "breakdown": {name: median_parts(b) for name, b in breakdowns.items()},
    }
    print(json.dumps(result, indent=2))
    if args.out:
        args.out.write_text(json.dumps(result, indent=2) + "\n")


def median_parts(breakdowns: list[dict[str, float]]) -> dict[str, float]:
    """The median of each figure of the prompt breakdowns."""
    keys = breakdowns[0] if breakdowns else {}
    return {k: round(statistics.median(b[k] for b in breakdowns), 1) for k in keys}


if __name__ == "__main__":
    main()
