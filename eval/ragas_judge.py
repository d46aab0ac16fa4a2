"""A local ragas judge: Verity's llama.cpp model in process, JSON by grammar, retried, cached on disk.

`LocalJudge` subclasses ragas' `InstructorBaseRagasLLM` (the interface of the `ragas.metrics.collections`
metrics): each call gets a prompt and a pydantic response model, and returns a parsed instance. The text
comes from a `JsonCompleter` (the seam): for llama.cpp, a completion constrained by a grammar built from
the response model's JSON schema, stopped after a time bound. An answer that does not validate is retried
with another seed; one that never does raises `JudgeFailed`, which the run counts as a NaN for that
sample's metric. Valid answers are cached in SQLite keyed by model and prompt, so a rerun (or an
interrupted run) is served from disk.

`VerityEmbeddings` adapts Verity's `Embedder` (MiniLM by default) to ragas' `BaseRagasEmbedding`.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import time
import typing as t
from collections.abc import Callable
from pathlib import Path

from llama_cpp.llama_cache import LlamaRAMCache
from pydantic import BaseModel, ValidationError
from ragas.embeddings.base import BaseRagasEmbedding
from ragas.llms.base import InstructorBaseRagasLLM

from eval.errors import JudgeFailed
from generation.engines.llama_cpp import LlamaCppEngine
from generation.engines.protocol import ChatMessage
from retrieval.embedders import Embedder

M = t.TypeVar("M", bound=BaseModel)

__all__ = [
    "JsonCompleter",
    "JudgeCache",
    "JudgeFailed",
    "LocalJudge",
    "RecentStates",
    "VerityEmbeddings",
    "llama_json_completer",
]

JsonCompleter = Callable[[str, dict[str, t.Any], int], str]
"""(prompt, JSON schema of the wanted answer, attempt number) -> the model's text."""


class JudgeCache:
    """Judge answers in SQLite, keyed by a digest of model, schema and prompt (safe to share across runs)."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("CREATE TABLE IF NOT EXISTS answers (key TEXT PRIMARY KEY, text TEXT NOT NULL)")

    @staticmethod
    def key(model: str, schema: dict[str, t.Any], prompt: str) -> str:
        """The digest an answer is stored under."""
        payload = json.dumps([model, schema, prompt], sort_keys=True)
        return hashlib.sha256(payload.encode()).hexdigest()

    def get(self, key: str) -> str | None:
        """The stored answer text, if any."""
        row = self._db.execute("SELECT text FROM answers WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def put(self, key: str, text: str) -> None:
        """Store an answer (atomically; the last write wins)."""
        self._db.execute("INSERT OR REPLACE INTO answers (key, text) VALUES (?, ?)", (key, text))

    def close(self) -> None:
        """Release the database."""
        self._db.close()


class LocalJudge(InstructorBaseRagasLLM):
    """A ragas LLM whose every answer is valid JSON of the response model, or a `JudgeFailed`."""

    def __init__(
        self, complete: JsonCompleter, model: str, cache: JudgeCache | None = None, attempts: int = 3
    ) -> None:
        self.complete = complete
        self.model = model
        self.cache = cache
        self.attempts = attempts
        self.calls = 0
        self.cache_hits = 0
        self.failures = 0
        self.seconds = 0.0

    def generate(self, prompt: str, response_model: type[M]) -> M:
        """The judge's answer to `prompt`, parsed as `response_model` (from the cache when stored)."""
        schema = response_model.model_json_schema()
        key = JudgeCache.key(self.model, schema, prompt)
        stored = self.cache.get(key) if self.cache is not None else None
        if stored is not None:
            self.cache_hits += 1
            return response_model.model_validate_json(stored)
        errors = []
        for attempt in range(self.attempts):
            self.calls += 1
            start = time.perf_counter()
            try:
                text = self.complete(prompt, schema, attempt)
                parsed = response_model.model_validate_json(text)
            except (ValidationError, ValueError, RuntimeError) as exc:
                errors.append(f"attempt {attempt + 1}: {str(exc).splitlines()[0][:200]}")
                continue
            finally:
                self.seconds += time.perf_counter() - start
            if self.cache is not None:
                self.cache.put(key, parsed.model_dump_json())
            return parsed
        self.failures += 1
        raise JudgeFailed(f"{response_model.__name__}: no valid answer ({'; '.join(errors)})")

    async def agenerate(self, prompt: str, response_model: type[M]) -> M:
        """The same as `generate` (llama.cpp runs one completion at a time anyway)."""
        return self.generate(prompt, response_model)


def llama_json_completer(
    engine: LlamaCppEngine, max_tokens: int = 512, timeout_s: float = 120.0, prefix_states: int = 8
) -> JsonCompleter:
    """Completions by `engine` constrained to a schema's JSON by a llama.cpp grammar, cut at `timeout_s`.

    The first attempt is greedy; later ones sample (temperature 0.7, seed = attempt) so a retry can get out
    of a loop. A schema the grammar builder cannot handle falls back to the generic JSON grammar.

    ragas prompts open with a fixed instruction and examples (about 70% of their tokens), one per metric
    step, and the steps alternate; keeping the model state after the last `prefix_states` completions lets
    each step start from its own prefix instead of reading it again (0: keep none).
    """
    from llama_cpp.llama_grammar import JSON_GBNF, LlamaGrammar

    if prefix_states > 0:
        engine.llama.set_cache(RecentStates(prefix_states))

    grammars: dict[str, t.Any] = {}

    def grammar_for(schema: dict[str, t.Any]) -> t.Any:
        text = json.dumps(at_least_one_item(schema), sort_keys=True)
        if text not in grammars:
            try:
                grammars[text] = LlamaGrammar.from_json_schema(text, verbose=False)
            except (ValueError, RuntimeError, KeyError, TypeError):
                grammars[text] = LlamaGrammar.from_string(JSON_GBNF, verbose=False)
        return grammars[text]

    def complete(prompt: str, schema: dict[str, t.Any], attempt: int) -> str:
        rendered = engine.render_prompt([ChatMessage("user", prompt)])
        start = time.perf_counter()
        pieces: list[str] = []
        stream = engine.llama.create_completion(
            rendered,
            max_tokens=max_tokens,
            temperature=0.0 if attempt == 0 else 0.7,
            seed=attempt,
            grammar=grammar_for(schema),
            stream=True,
        )
        for piece in stream:
            pieces.append(piece["choices"][0]["text"])
            if time.perf_counter() - start > timeout_s:
                stream.close()
                raise RuntimeError(f"judge answer cut at {timeout_s:.0f} s")
        return "".join(pieces)

    return complete


class RecentStates(LlamaRAMCache):
    """llama.cpp's RAM cache of model states, bounded by their number: its byte bound leaves out the
    logits each state also copies (n_batch x vocabulary floats, about 300 MB for Qwen2.5), so a byte bound
    alone could hold tens of them."""

    def __init__(self, states: int) -> None:
        super().__init__(capacity_bytes=1 << 40)
        self.states = states

    def __setitem__(self, key: t.Any, value: t.Any) -> None:
        super().__setitem__(key, value)
        while len(self.cache_state) > self.states:
            self.cache_state.popitem(last=False)


def at_least_one_item(schema: t.Any) -> t.Any:
    """The schema with every array given `minItems: 1` (unless it says otherwise): a judge must list at
    least one statement or verdict, where an empty list would make the metric NaN."""
    if isinstance(schema, list):
        return [at_least_one_item(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    changed = {key: at_least_one_item(value) for key, value in schema.items()}
    if changed.get("type") == "array" and "minItems" not in changed:
        changed["minItems"] = 1
    return changed


class VerityEmbeddings(BaseRagasEmbedding):
    """Verity's embedder (MiniLM by default) behind ragas' embeddings interface."""

    def __init__(self, embedder: Embedder) -> None:
        super().__init__()
        self.embedder = embedder

    def embed_text(self, text: str, **kwargs: t.Any) -> list[float]:
        """One text's vector."""
        return self.embed_texts([text])[0]

    def embed_texts(self, texts: list[str], **kwargs: t.Any) -> list[list[float]]:
        """Vectors of several texts, in one batch."""
        return [[float(x) for x in row] for row in self.embedder.embed(texts)]

    async def aembed_text(self, text: str, **kwargs: t.Any) -> list[float]:
        """The same as `embed_text`."""
        return self.embed_text(text)

    async def aembed_texts(self, texts: list[str], **kwargs: t.Any) -> list[list[float]]:
        """The same as `embed_texts`."""
        return self.embed_texts(texts)
