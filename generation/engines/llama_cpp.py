"""llama.cpp in process through llama-cpp-python: one model, loaded once, one completion at a time."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from generation.engines.protocol import ChatMessage, GenerationParams, TokenizedPrompt
from generation.engines.threads import adaptive_threads
from generation.errors import EngineFailed, ModelCorrupt


class LlamaCppEngine:
    """A GGUF chat model; the prompt is rendered with the model's own chat template and streamed.

    A `Llama` object runs one completion at a time and is not thread-safe, so generations are serialised
    by a lock. Keeping the system prompt first lets llama.cpp reuse the cached prompt prefix. `threads=0`
    picks the threads before each call: the cores other running work leaves free (`threads.py`).
    """

    def __init__(
        self, model_path: Path, context_window: int = 4096, threads: int = 1, gpu_layers: int = 0
    ) -> None:
        from llama_cpp import Llama
        from llama_cpp.llama_chat_format import Jinja2ChatFormatter

        self._adaptive = threads == 0
        threads = threads or os.cpu_count() or 1
        try:
            self._llm = Llama(
                model_path=str(model_path),
                n_ctx=context_window,
                n_threads=threads,
                n_threads_batch=threads,
                n_gpu_layers=gpu_layers,
                verbose=False,
            )
        except (ValueError, RuntimeError) as exc:
            raise ModelCorrupt(f"llama.cpp cannot load {model_path}: {exc}") from exc
        template = self._llm.metadata.get("tokenizer.chat_template")
        if not template:
            raise ModelCorrupt(f"{model_path} has no chat template: it is not an instruct model")
        self._formatter = Jinja2ChatFormatter(
            template=template,
            eos_token=self._token_text(self._llm.token_eos()),
            bos_token=self._token_text(self._llm.token_bos()),
        )
        self._name = model_path.stem
        self._lock = threading.Lock()

    def _token_text(self, token: int) -> str:
        return "" if token < 0 else self._llm.detokenize([token], special=True).decode(errors="ignore")

    @property
    def name(self) -> str:
        return self._name

    @property
    def context_window(self) -> int:
        return int(self._llm.n_ctx())

    def count_tokens(self, text: str) -> int:
        """Tokens of `text` in the model's vocabulary."""
        return len(self._llm.tokenize(text.encode(), add_bos=False, special=True))

    def _render(self, messages: Sequence[ChatMessage]) -> Any:
        payload: list[Any] = [{"role": m.role, "content": m.content} for m in messages]
        return self._formatter(messages=payload)

    @property
    def llama(self) -> Any:
        """The underlying `llama_cpp.Llama` (for benchmarks that time a raw call on the same KV cache)."""
        return self._llm

    def render_prompt(self, messages: Sequence[ChatMessage]) -> str:
        """The prompt text the chat template renders for `messages`."""
        return str(self._render(messages).prompt)

    def count_prompt_tokens(self, messages: Sequence[ChatMessage]) -> int:
        """Tokens of the whole prompt as the chat template renders it."""
        return self.count_tokens(self._render(messages).prompt)

    def choice_logprobs(self, messages: Sequence[ChatMessage], choices: Sequence[str]) -> dict[str, float]:
        """Log-probability of each choice's first token as the reply's first token.

        The prompt is evaluated after the longest prefix already in the KV cache, and is left there, so a
        completion over the same prefix right after reuses it.
        """
        tokens = list(self.tokenize_prompt(messages).token_ids)
        firsts = {c: self._llm.tokenize(c.encode(), add_bos=False, special=False)[0] for c in choices}
        with self._lock:
            self._pick_threads()
            try:
                self._evaluate(tokens)
                n_vocab = self._llm.n_vocab()
                logits = np.ctypeslib.as_array(self._llm._ctx.get_logits_ith(-1), shape=(n_vocab,))
            except (RuntimeError, ValueError) as exc:
                raise EngineFailed(f"llama.cpp failed while scoring choices: {exc}") from exc
            top = float(logits.max())
            log_total = top + float(np.log(np.exp(logits - top).sum()))
            return {c: float(logits[t]) - log_total for c, t in firsts.items()}

    def _pick_threads(self) -> None:
        """With adaptive threads, give llama.cpp the cores free now (held under the engine's lock)."""
        if self._adaptive:
            from llama_cpp import llama_set_n_threads

            n = adaptive_threads()
            llama_set_n_threads(self._llm.ctx, n, n)

    def _evaluate(self, tokens: list[int]) -> None:
        """Decode `tokens` after the longest prefix already cached (at least one token is decoded)."""
        cached = self._llm._input_ids
        common = 0
        for a, b in zip(cached, tokens, strict=False):
            if a != b:
                break
            common += 1
        common = min(common, len(tokens) - 1)
        self._llm.n_tokens = common
        self._llm.eval(tokens[common:])

    def tokenize_prompt(self, messages: Sequence[ChatMessage]) -> TokenizedPrompt:
        """The prompt as the chat template renders it, in the model's token ids (with BOS when the model
        wants one, as llama.cpp adds it to a text prompt), and the template's stop strings."""
        rendered = self._render(messages)
        ids = self._llm.tokenize(str(rendered.prompt).encode(), special=True)
        return TokenizedPrompt(tuple(ids), tuple(_as_list(rendered.stop)))

    def stream(self, messages: Sequence[ChatMessage], params: GenerationParams) -> Iterator[str]:
        """Yield the completion's text piece by piece; closing the iterator stops generation."""
        yield from self.stream_tokens(self.tokenize_prompt(messages), params)

    def stream_tokens(self, prompt: TokenizedPrompt, params: GenerationParams) -> Iterator[str]:
        """Yield the completion of a prompt tokenized already (`tokenize_prompt`), piece by piece; closing
        the iterator stops generation."""
        with self._lock:
            self._pick_threads()
            try:
                pieces: Iterator[Any] = self._llm.create_completion(  # type: ignore[assignment]
                    list(prompt.token_ids),
                    max_tokens=params.max_tokens,
                    temperature=params.temperature,
                    top_p=params.top_p,
                    seed=params.seed,
                    stop=[*prompt.stop, *params.stop],
                    stream=True,
                )
                for piece in pieces:
                    text = piece["choices"][0]["text"]
                    if text:
                        yield text
            except (RuntimeError, ValueError) as exc:
                raise EngineFailed(f"llama.cpp failed while generating: {exc}") from exc


def _as_list(stop: str | list[str] | None) -> list[str]:
    if stop is None:
        return []
    return [stop] if isinstance(stop, str) else list(stop)
