"""Plain chat with the engine (its own model name on `/v1/chat/completions`): no retrieval, the whole
conversation shown to the model, the same event stream and fold as a grounded answer (without sources).
The whole reply is the engine's work, so all of it runs inside the fair turn."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

from app.gateway.keys import Caller
from app.gateway.service import Gateway
from app.serving.admission import Admission, admit, run_stages, started
from app.serving.fold import Answer, AnswerStream, fold
from generation.chat import ChatPipeline
from generation.engines.protocol import ChatMessage, Engine, GenerationParams, PromptTokenizer
from generation.errors import PromptTooLong


@dataclass(frozen=True)
class ChatRequest:
    """A conversation for the engine to continue; `deadline_s` as in `AnswerRequest`."""

    messages: Sequence[ChatMessage]
    params: GenerationParams | None = None
    deadline_s: float | None = None
    stream: bool = False
    endpoint: str = "chat"


class Chat:
    """Plain chat, admitted, scheduled and settled."""

    def __init__(self, gateway: Gateway, pipeline: ChatPipeline, engine: Engine) -> None:
        self._gateway, self._pipeline, self._engine = gateway, pipeline, engine

    async def stream(self, caller: Caller, request: ChatRequest) -> AnswerStream:
        """Admit the conversation and start the reply (refusals and a prompt too long for the model's
        window are raised here)."""
        model = self._engine.name
        caller.check_model(model)
        params = request.params or self._pipeline.params
        messages = list(request.messages)
        engine = self._engine
        tokens = engine.tokenize_prompt(messages) if isinstance(engine, PromptTokenizer) else None
        prompt = len(tokens.token_ids) if tokens is not None else engine.count_prompt_tokens(messages)
        if prompt + params.max_tokens > self._engine.context_window:
            raise PromptTooLong(
                f"the prompt has {prompt} tokens and up to {params.max_tokens} may be generated, "
                f"but the model's context window holds {self._engine.context_window}: shorten the messages"
            )
        admission = Admission(
            request.endpoint, model, prompt + params.max_tokens, prompt, request.stream, request.deadline_s
        )
        ticket = await admit(self._gateway, caller, admission)
        reply = lambda: self._pipeline.run(messages, params, prompt, tokens)  # noqa: E731
        events = run_stages(self._gateway, ticket, admission, None, reply, None)
        key = ticket.request_id.removeprefix("req_")
        return AnswerStream(f"ans_{key}", model, int(time.time()), await started(events), grounded=False)

    async def reply(self, caller: Caller, request: ChatRequest) -> Answer:
        """The whole reply, folded."""
        return await fold(await self.stream(caller, request))
