"""A small instruct LLM read as a text encoder: the mean of its final hidden states over a message.

MiniLM reads English only and sees little beyond topic; an instruct LLM also reads German and what a
message asks the model to do. The safety heads' second stage uses these vectors on the questions their
first stage is unsure of (`escalation.py`), so only those pay for the LLM's forward pass.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

from generation.safety.errors import SafetyModelError

CHATML_USER = "<|im_start|>user\n{text}<|im_end|>\n<|im_start|>assistant\n"
"""The message is framed as a user turn (ChatML, the packaged Qwen models' format), as the heads saw it."""
MAX_CHARS = 2000


class TextEncoder(Protocol):
    """Turns texts into fixed-size vectors; `name` identifies the model the heads were trained on."""

    @property
    def name(self) -> str: ...

    def encode(self, texts: Sequence[str]) -> NDArray[np.float32]: ...


class LlamaTextEncoder:
    """Mean-pooled final hidden states of a GGUF model, computed by llama.cpp in embedding mode."""

    def __init__(self, model_path: Path, threads: int = 1, context_window: int = 1024) -> None:
        from llama_cpp import LLAMA_POOLING_TYPE_MEAN, Llama

        try:
            self._llm = Llama(
                model_path=str(model_path),
                embedding=True,
                pooling_type=LLAMA_POOLING_TYPE_MEAN,
                n_ctx=context_window,
                n_batch=context_window,
                n_threads=threads,
                n_threads_batch=threads,
                verbose=False,
            )
        except (ValueError, RuntimeError) as exc:
            raise SafetyModelError(f"llama.cpp cannot load the safety encoder {model_path}: {exc}") from exc
        self._name = model_path.stem
        self._lock = threading.Lock()

    @property
    def name(self) -> str:
        return self._name

    def encode(self, texts: Sequence[str]) -> NDArray[np.float32]:
        """One vector per text (texts longer than `MAX_CHARS` are cut, as in training)."""
        vectors = []
        with self._lock:
            for text in texts:
                prompt = CHATML_USER.format(text=text[:MAX_CHARS])
                try:
                    vectors.append(self._llm.embed(prompt, normalize=False, truncate=True))
                except (ValueError, RuntimeError) as exc:
                    raise SafetyModelError(f"the safety encoder failed: {exc}") from exc
        return np.asarray(vectors, dtype=np.float32).reshape(len(texts), -1)
