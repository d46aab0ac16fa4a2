"""An engine that generates from token ids (llama.cpp) gets each prompt tokenized once: the pipeline
tokenizes the packed prompt, counts it from the ids, and hands the ids over; the text is not tokenized
again. Text-only engines (the scripted fake, a remote server) keep the messages path."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from app.container import Container
from app.gateway.keys import Caller
from app.serving.chat import ChatRequest
from app.settings import Settings
from generation.answer import AnswerPipeline, DoneEvent
from generation.engines.protocol import ChatMessage, GenerationParams, PromptTokenizer, TokenizedPrompt
from generation.engines.scripted import ScriptedEngine
from retrieval.types import Scope
from tests.async_run import run_coroutine
from tests.generation.helpers import FixedRetriever, passage

DUCKS = passage("Ducks eat grasses, aquatic plants, fish, insects and small molluscs.", 1)
GEESE = passage("Geese migrate south in large flocks every autumn.", 2)


class TokenizingEngine(ScriptedEngine):
    """The scripted fake as an engine that generates from token ids, counting every tokenization."""

    def __init__(self, reply: Callable[[Sequence[ChatMessage]], str]) -> None:
        super().__init__(reply)
        self.tokenized: list[list[ChatMessage]] = []
        self.counted: list[list[ChatMessage]] = []
        self.generated_from: list[TokenizedPrompt] = []
        self.text_streams = 0

    def tokenize_prompt(self, messages: Sequence[ChatMessage]) -> TokenizedPrompt:
        self.tokenized.append(list(messages))
        words = " ".join(f"<{m.role}> {m.content}" for m in messages).split()
        return TokenizedPrompt(tuple(range(len(words))), ("</s>",))

    def count_prompt_tokens(self, messages: Sequence[ChatMessage]) -> int:
        self.counted.append(list(messages))
        return super().count_prompt_tokens(messages)

    def stream(self, messages: Sequence[ChatMessage], params: GenerationParams) -> Iterator[str]:
        self.text_streams += 1
        return super().stream(messages, params)

    def stream_tokens(self, prompt: TokenizedPrompt, params: GenerationParams) -> Iterator[str]:
        self.generated_from.append(prompt)
        return super().stream(self.tokenized[-1], params)


def test_one_answer_tokenizes_its_packed_prompt_once_and_generates_from_the_ids() -> None:
    engine = TokenizingEngine(lambda _: "Ducks eat aquatic plants and insects. [1]")
    assert isinstance(engine, PromptTokenizer)
    pipeline = AnswerPipeline(FixedRetriever([DUCKS, GEESE]), engine)
    done = list(pipeline.run("What do ducks eat?", Scope(collection="birds")))[-1]
    assert isinstance(done, DoneEvent) and done.answer == "Ducks eat aquatic plants and insects. [1]"
    # the whole prompt, with both sources packed, is tokenized once; the only other count is the frame
    # (no sources) planned before retrieval, for the credit hold
    assert len(engine.tokenized) == 1 and "Ducks eat grasses" in engine.tokenized[0][-1].content
    assert len(engine.counted) == 1 and "Ducks eat grasses" not in engine.counted[0][-1].content
    assert engine.text_streams == 0 and len(engine.generated_from) == 1
    assert done.usage.prompt_tokens == len(engine.generated_from[0].token_ids)


def test_a_text_only_engine_is_streamed_the_messages_and_counted_from_the_planned_parts() -> None:
    engine = ScriptedEngine(lambda _: "Ducks eat fish. [1]")
    assert not isinstance(engine, PromptTokenizer)
    done = list(AnswerPipeline(FixedRetriever([DUCKS]), engine).run("What?", Scope(collection="birds")))[-1]
    assert isinstance(done, DoneEvent) and len(engine.prompts) == 1
    assert done.usage.prompt_tokens == engine.count_prompt_tokens(engine.prompts[0])


def test_a_chat_reply_tokenizes_its_prompt_once_for_admission_and_generation(tmp_path: Path) -> None:
    engine = TokenizingEngine(lambda _: "Hello there.")
    container = Container(Settings(data_dir=tmp_path, safety="off"), engine=engine)
    request = ChatRequest([ChatMessage("user", "Say hello.")])
    reply = run_coroutine(container.chat_service.reply(Caller("acme"), request))
    container.close()
    assert reply.answer == "Hello there."
    assert len(engine.tokenized) == 1 and engine.counted == [] and engine.text_streams == 0
    assert reply.usage.prompt_tokens == len(engine.generated_from[0].token_ids)
