"""Prefix affinity: a conversation's follow-up on the replica that holds its prefix in the KV cache,
against the same follow-up sent to the other replica (cold), through the engine pool and two real
llama-server replicas on loopback.

    .venv/bin/python -m bench.affinity [--conversations 4] [--model qwen2.5-coder-0.5b-instruct-q4_k_m]

Each conversation has a long system prompt (a few hundred tokens of sources). Its first turn goes where
the pool's affinity sends it; the follow-up is timed to its first token twice: once routed by affinity
(the warm replica), once with that replica drained so the other one (cold) must read the whole prompt.
Prints the median time to first token of both and the ratio cold / warm.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from generation.engines.openai_http import OpenAIHttpEngine
from generation.engines.pool import EnginePool, Replica, preferred, prefix_key
from generation.engines.protocol import ChatMessage, GenerationParams
from generation.models import resolve_model_path
from scripts import llama_servers

PARAMS = GenerationParams(max_tokens=4, temperature=0.0)


def sources(n: int) -> str:
    """A system prompt with numbered made-up sources, distinct per conversation."""
    lines = [
        f"[{i}] Report {n}-{i}: the kiln in building {n} fired {i * 37 + n} pots at {1200 + i} degrees "
        f"on day {i}, using {i * 3 + n} kilograms of wood and {i + n} hours of work."
        for i in range(1, 13)
    ]
    return "Answer from these sources only.\n" + "\n".join(lines)


def first_token_s(pool: EnginePool, messages: list[ChatMessage]) -> float:
    """Seconds to the first piece of the pool's reply (the rest is read and dropped)."""
    started = time.perf_counter()
    pieces = pool.stream(messages, PARAMS)
    next(pieces, None)
    elapsed = time.perf_counter() - started
    for _ in pieces:
        pass
    return elapsed


def main() -> None:
    """Time warm and cold follow-ups for each conversation and print the medians."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--conversations", type=int, default=4)
    parser.add_argument("--model", default=llama_servers.DEFAULT_MODEL)
    args = parser.parse_args()
    model = resolve_model_path(args.model, Path("~/.cache/verity/models").expanduser())
    warm, cold = [], []
    with llama_servers.replicas(model, 2, threads=1, slots=1, context=2048) as servers:
        drained: set[str] = set()
        engines = [OpenAIHttpEngine(s.url, llama_servers.ALIAS) for s in servers]
        pool = EnginePool(
            [Replica(s.url, e, e.healthy) for s, e in zip(servers, engines, strict=True)],
            drained=lambda: frozenset(drained),
        )
        for n in range(args.conversations):
            turn = [ChatMessage("system", sources(n)), ChatMessage("user", "Which kiln fired the most pots?")]
            first_token_s(pool, turn)  # the first turn: its prefix is now cached on the preferred replica
            follow = [*turn, ChatMessage("assistant", "Report 12."), ChatMessage("user", "At what heat?")]
            warm.append(first_token_s(pool, follow))
            drained.add(preferred(prefix_key(follow), [r.url for r in pool.replicas]))
            cold.append(first_token_s(pool, follow))  # the other replica reads the whole prompt
            drained.clear()
    w, c = statistics.median(warm), statistics.median(cold)
    print(
        f"follow-up time to first token, median of {args.conversations}: affinity (warm) {w:.2f}s, "
        f"other replica (cold) {c:.2f}s, cold / warm {c / w:.2f}"
    )


if __name__ == "__main__":
    main()
