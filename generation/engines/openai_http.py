"""Any OpenAI-compatible chat server as an engine: llama.cpp's `llama-server`, vLLM, llama-cpp-python's.

Streaming chat completions over httpx. Token counts use the server's `/tokenize` endpoint when it has one
(llama-server and vLLM do); otherwise they are estimated as one token per four characters. Transport
errors and non-2xx replies become `EngineFailed`, timeouts `EngineTimeout`.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator, Sequence
from typing import Any

import httpx

from generation.engines.protocol import ChatMessage, GenerationParams
from generation.errors import EngineFailed, EngineTimeout

MESSAGE_OVERHEAD_TOKENS = 4
"""Template tokens per message (role markers, separators) added to the content's count."""


class OpenAIHttpEngine:
    """A chat model behind an OpenAI-compatible HTTP API."""

    def __init__(
        self,
        base_url: str,
        model: str,
        api_key: str | None = None,
        context_window: int = 4096,
        timeout_s: float = 60.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        root = base_url.rstrip("/").removesuffix("/v1")
        self._client = httpx.Client(
            base_url=root, headers=headers, timeout=httpx.Timeout(timeout_s), transport=transport
        )
        self._model = model
        self._context_window = context_window
        self._can_tokenize: bool | None = None

    @property
    def name(self) -> str:
        return self._model

    @property
    def context_window(self) -> int:
        return self._context_window

    def count_tokens(self, text: str) -> int:
        """Tokens of `text` from the server's `/tokenize`, or an estimate when it has none."""
        if self._can_tokenize is not False:
            try:
                reply = self._client.post("/tokenize", json={"content": text, "model": self._model})
            except httpx.HTTPError:
                reply = None
            self._can_tokenize = reply is not None and reply.status_code == 200
            if reply is not None and self._can_tokenize:
                return len(reply.json()["tokens"])
        return math.ceil(len(text) / 4)

    def count_prompt_tokens(self, messages: Sequence[ChatMessage]) -> int:
        """Tokens of the messages plus a fixed overhead per message for the chat template."""
        return sum(self.count_tokens(m.content) + MESSAGE_OVERHEAD_TOKENS for m in messages)

    def stream(self, messages: Sequence[ChatMessage], params: GenerationParams) -> Iterator[str]:
        """Yield the reply's text as the server streams it; closing the iterator closes the connection."""
        body = {
            "model": self._model,
            "messages": [{"role": m.role, "content": m.content} for m in messages],
            "max_tokens": params.max_tokens,
            "temperature": params.temperature,
            "top_p": params.top_p,
            "seed": params.seed,
            "stream": True,
        }
        if params.stop:
            body["stop"] = list(params.stop)
        try:
            with self._client.stream("POST", "/v1/chat/completions", json=body) as reply:
                if reply.status_code != 200:
                    reply.read()
                    raise EngineFailed(
                        f"{self._model}: the server answered {reply.status_code}: {reply.text}"
                    )
                yield from _sse_texts(reply.iter_lines())
        except httpx.TimeoutException as exc:
            raise EngineTimeout(f"{self._model}: the server did not answer in time ({exc})") from exc
        except httpx.HTTPError as exc:
            raise EngineFailed(f"{self._model}: cannot reach the server ({exc})") from exc

    def choice_logprobs(self, messages: Sequence[ChatMessage], choices: Sequence[str]) -> dict[str, float]:
        """Log-probability of each choice as the reply's first token, from the server's `top_logprobs`
        (a choice outside the top 20 gets -30)."""
        body = {
            "model": self._model,
            "messages": [{"role": m.role, "content": m.content} for m in messages],
            "max_tokens": 1,
            "temperature": 0.0,
            "logprobs": True,
            "top_logprobs": 20,
        }
        try:
            reply = self._client.post("/v1/chat/completions", json=body)
            reply.raise_for_status()
            top = reply.json()["choices"][0]["logprobs"]["content"][0]["top_logprobs"]
        except httpx.TimeoutException as exc:
            raise EngineTimeout(f"{self._model}: the server did not answer in time ({exc})") from exc
        except (httpx.HTTPError, ValueError, KeyError, IndexError, TypeError) as exc:
            raise EngineFailed(f"{self._model}: the server gave no logprobs ({exc})") from exc
        scores = {str(t["token"]): float(t["logprob"]) for t in top}
        return {c: scores.get(c, -30.0) for c in choices}

    def healthy(self) -> bool:
        """Whether the server is up and its model loaded: `/health` answers 200 (llama-server, vLLM), or
        `/v1/models` does where there is no `/health`."""
        for path in ("/health", "/v1/models"):
            try:
                reply = self._client.get(path, timeout=5.0)
            except httpx.HTTPError:
                return False
            if reply.status_code != 404:
                return reply.status_code == 200
        return False

    def close(self) -> None:
        """Close the connection pool."""
        self._client.close()


def _sse_texts(lines: Iterator[str]) -> Iterator[str]:
    """The content deltas of an OpenAI chat-completion event stream."""
    for line in lines:
        if not line.startswith("data:"):
            continue
        data = line[5:].strip()
        if data == "[DONE]":
            return
        try:
            chunk: dict[str, Any] = json.loads(data)
        except ValueError as exc:
            raise EngineFailed(f"the server sent a malformed event: {data[:200]}") from exc
        if "error" in chunk:
            raise EngineFailed(f"the server reported an error: {chunk['error']}")
        for choice in chunk.get("choices") or []:
            text = (choice.get("delta") or {}).get("content")
            if text:
                yield text
