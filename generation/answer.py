"""The answer pipeline: retrieve, pack, prompt, stream, cite; one stream of typed events for every surface.

Events, in order: with a safety gate, `SafetyEvent`s for the question; one `SourcesEvent` (after the
`SafetyEvent`s for the passages); any number of `DeltaEvent`s; the `SafetyEvent`s for the answer; one
`DoneEvent`. When an `Abstainer` is given, the system decides whether the packed passages answer the
question before any text is generated; when they do not, the answer is `NOT_IN_DOCUMENTS` with the closest
passages as sources.
"""

from __future__ import annotations

import dataclasses
import functools
import time
from collections.abc import Callable, Generator, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol

from generation.abstention import Abstainer, Decision
from generation.breakdown import PromptBreakdown, prompt_breakdown
from generation.citations import (
    Citation,
    SentenceCheck,
    check_sentence,
    checkable_sentences,
    finished_sentences,
    verify_citations,
)
from generation.engines.protocol import (
    ChatMessage,
    Engine,
    GenerationParams,
    PromptTokenizer,
    TokenizedPrompt,
)
from generation.errors import PromptTooLong
from generation.history import FittedHistory, HistoryReceipt, fit_history, turns_of
from generation.prompts import NOT_IN_DOCUMENTS, build_messages, render_source
from generation.safety.gate import REFUSAL, ContextVerdict, SafetyDecision, SafetyGate
from retrieval.compress import Compressed, CompressionReceipt
from retrieval.context import PackedContext, pack_context
from retrieval.search import SearchResult, elapsed_ms
from retrieval.types import Passage, Scope


class Retriever(Protocol):
    """Finds the passages for a question within a scope."""

    def search(self, query: str, scope: Scope, top_k: int) -> SearchResult: ...


class Compressor(Protocol):
    """Cuts the passages to what bears on the question before they are packed (`retrieval.compress`)."""

    def compress(self, question: str, passages: Sequence[Passage]) -> Compressed: ...


FinishReason = Literal["stop", "length"]
MODEL_DECLINED = "the model found no answer in the closest passages"


@dataclass(frozen=True)
class Usage:
    """Token counts of one answer, and what the context budget let in."""

    prompt_tokens: int
    completion_tokens: int
    context_tokens: int
    context_budget_tokens: int
    passages_retrieved: int
    passages_included: int
    passages_dropped: int
    history: HistoryReceipt | None = None
    breakdown: PromptBreakdown | None = None

    @property
    def total_tokens(self) -> int:
        """Prompt plus completion tokens."""
        return self.prompt_tokens + self.completion_tokens


@dataclass(frozen=True)
class SourcesEvent:
    """The numbered passages the model is shown, sent before the answer starts."""

    passages: list[Passage]


@dataclass(frozen=True)
class DeltaEvent:
    """A piece of the answer's text."""

    text: str


@dataclass(frozen=True)
class DoneEvent:
    """The whole answer, its citations, usage and per-stage timings in milliseconds.

    `answer` is the text with its markers rewritten to the passages that support each sentence;
    `raw_answer` is what the model wrote. On abstention, `declined_because` says why and
    `closest_passages` holds the passages that came closest.
    """

    answer: str
    citations: list[Citation]
    usage: Usage
    timings_ms: dict[str, float] = field(default_factory=dict)
    abstained: bool = False
    finish_reason: FinishReason = "stop"
    answerability: Decision | None = None
    sentences: list[SentenceCheck] = field(default_factory=list)
    search_query: str = ""
    raw_answer: str = ""
    declined_because: str | None = None
    closest_passages: list[Passage] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.raw_answer:
            object.__setattr__(self, "raw_answer", self.answer)


@dataclass(frozen=True)
class SentenceEvent:
    """An answer sentence checked against the passages shown as soon as the model has finished it
    (`index` counts checked sentences from 0; the last sentence is checked when the answer ends, and
    every sentence then when the safety policy held the answer back); the `DoneEvent` repeats every
    check."""

    index: int
    check: SentenceCheck
    citations: list[Citation]


@dataclass(frozen=True)
class SafetyEvent:
    """One safety check: where it ran, whether it flagged, the category, score and the action taken."""

    stage: str
    decision: Literal["flagged", "passed"]
    category: str
    score: float
    action: str


AnswerEvent = SourcesEvent | DeltaEvent | SentenceEvent | DoneEvent | SafetyEvent


def safety_events(decisions: list[SafetyDecision]) -> Iterator[SafetyEvent]:
    """The events reporting `decisions`."""
    for d in decisions:
        yield SafetyEvent(d.stage, "flagged" if d.flagged else "passed", d.category, d.score, d.action)


def checked_query(safety: SafetyGate, query: AnswerQuery) -> tuple[AnswerQuery | None, list[SafetyDecision]]:
    """The query after the input filters, or None when they block it, with their decisions.

    A follow-up's standalone form and search text are written from the typed question and earlier turns
    (by a model, when the question refers back), so they can say what the typed words alone do not: each
    is checked like the question, a block on any refuses, and redactions apply to what is searched,
    judged and answered. Only the derived texts' flagged decisions are reported (their passes would
    repeat the question's). Earlier questions in the history were checked when asked; they are only
    redacted here, when the policy redacts PII, as they go back to the model."""
    verdict = safety.check_question(query.question)
    decisions = list(verdict.decisions)
    if verdict.blocked:
        return None, decisions
    checked_text = {query.question: verdict.text}
    for text in (query.standalone, query.search_query):
        if text is None or text in checked_text:
            continue
        follow_up = safety.check_question(text)
        decisions += [d for d in follow_up.decisions if d.flagged]
        if follow_up.blocked:
            return None, decisions
        checked_text[text] = follow_up.text
    standalone, search_query = (
        checked_text[t] if t is not None else None for t in (query.standalone, query.search_query)
    )
    history = tuple(
        dataclasses.replace(m, content=safety.redact_pii(m.content)) if m.role == "user" else m
        for m in query.history
    )
    checked = dataclasses.replace(
        query, question=verdict.text, standalone=standalone, search_query=search_query, history=history
    )
    return checked, decisions


@dataclass(frozen=True)
class Prepared:
    """The packed context for a question, how many passages retrieval found, and the timings so far."""

    packed: PackedContext
    retrieved: int
    timings_ms: dict[str, float]
    checked: ContextVerdict | None = None
    compression: CompressionReceipt | None = None


@dataclass(frozen=True)
class CostPlan:
    """What an answer may cost, planned once before it runs: the prompt without sources (system prompt,
    history, question), the tokens the sources may take, and the answer's most tokens.

    The gateway holds `total_tokens` in credits; the pipeline packs sources into `context_budget`, so the
    prompt never outgrows the model's window (unless the frame alone does: then `PromptTooLong`)."""

    frame_tokens: int
    context_budget: int
    max_tokens: int
    history: FittedHistory | None = None

    @property
    def prompt_tokens(self) -> int:
        """The prompt's most tokens: the frame and a full context budget."""
        return self.frame_tokens + self.context_budget

    @property
    def total_tokens(self) -> int:
        """The answer's most tokens, prompt and completion."""
        return self.prompt_tokens + self.max_tokens


def plan_answer(
    engine: Engine,
    question: str,
    budget_tokens: int,
    params: GenerationParams,
    history: Sequence[ChatMessage] = (),
    history_budget_tokens: int | None = None,
) -> CostPlan:
    """The cost plan of an answer: the configured context budget, lowered when the model's window cannot
    hold it beside the frame and the answer. The frame is tokenized here, once per answer.

    With `history_budget_tokens`, the history is first fitted into its share of the window (see
    `fit_conversation`) and the plan carries what was kept, summarised and dropped."""
    fitted = None
    if history and history_budget_tokens is not None:
        fitted = fit_conversation(engine, question, history, params, history_budget_tokens)
        history = fitted.messages
    summary = fitted.summary if fitted is not None else ""
    frame = engine.count_prompt_tokens(build_messages(question, [], history=history, summary=summary))
    room = engine.context_window - frame - params.max_tokens
    return CostPlan(frame, max(0, min(budget_tokens, room)), params.max_tokens, fitted)


def fit_conversation(
    engine: Engine,
    question: str,
    history: Sequence[ChatMessage],
    params: GenerationParams,
    history_budget_tokens: int,
) -> FittedHistory:
    """The earlier turns the history share holds: the configured share, at most a third of the window
    left after the system prompt, the question and the answer (the rest goes to passages)."""
    frame = engine.count_prompt_tokens(build_messages(question, []))
    room = engine.context_window - frame - params.max_tokens
    share = min(history_budget_tokens, max(0, room // 3))
    return fit_history(turns_of(history), share, engine.count_tokens)


@dataclass(frozen=True)
class AnswerQuery:
    """One question to answer: where to search, what to search for (the question unless a standalone
    `search_query` is given, as a conversation's follow-up needs) and the earlier turns to show."""

    question: str
    scope: Scope
    top_k: int = 5
    params: GenerationParams | None = None
    history: tuple[ChatMessage, ...] = ()
    search_query: str | None = None
    standalone: str | None = None

    @property
    def judged(self) -> str:
        """The question as judged and answered: the standalone form of a follow-up, else the question."""
        return self.standalone or self.question


class AnswerPipeline:
    """Answers a question from the passages a retriever finds, streaming events.

    `run` streams a whole answer. A server runs the same answer in three stages (`start` then
    `AnswerRun.prepare`, `.generate`, `.finish`) so that only `generate`, the engine's work, holds the
    engine's fair turn.
    """

    def __init__(
        self,
        retriever: Retriever,
        engine: Engine,
        context_budget_tokens: int = 2048,
        params: GenerationParams | None = None,
        abstainer: Abstainer | None = None,
        safety: SafetyGate | None = None,
        history_budget_tokens: int = 768,
        compressor: Compressor | None = None,
    ) -> None:
        self._compressor = compressor
        self._history_budget = history_budget_tokens
        self._safety = safety
        self._retriever = retriever
        self._engine = engine
        self._budget = context_budget_tokens
        self._params = params or GenerationParams()
        self._abstainer = abstainer

    @property
    def params(self) -> GenerationParams:
        """The default sampling settings."""
        return self._params

    def plan(self, query: AnswerQuery) -> CostPlan:
        """The cost plan of answering `query`."""
        params = query.params or self._params
        history, share = query.history, self._history_budget
        return plan_answer(self._engine, query.judged, self._budget, params, history, share)

    def run(
        self,
        question: str,
        scope: Scope,
        top_k: int = 5,
        params: GenerationParams | None = None,
        *,
        history: Sequence[ChatMessage] = (),
        search_query: str | None = None,
        standalone: str | None = None,
    ) -> Iterator[AnswerEvent]:
        """Stream the answer to `question` over the documents `scope` can see."""
        query = AnswerQuery(question, scope, top_k, params, tuple(history), search_query, standalone)
        answer = self.start(query)
        yield from answer.prepare()
        yield from answer.generate()
        yield from answer.finish()

    def start(self, query: AnswerQuery, plan: CostPlan | None = None) -> AnswerRun:
        """An answer ready to run in stages; `plan` (from `plan`) saves tokenizing the frame again."""
        return AnswerRun(self, query, plan)

    def prepare(
        self, question: str, scope: Scope, top_k: int = 5, params: GenerationParams | None = None
    ) -> Prepared:
        """Retrieve and pack the passages the model would be shown, with the stage timings so far."""
        query = AnswerQuery(question, scope, top_k, params)
        return self._prepare(query, self.plan(query))

    def _prepare(self, query: AnswerQuery, plan: CostPlan) -> Prepared:
        found = self._retriever.search(query.search_query or query.question, query.scope, query.top_k)
        checked = self._safety.check_passages(found.passages) if self._safety is not None else None
        passages = checked.passages if checked is not None else found.passages
        timings, receipt = dict(found.timings_ms), None
        if self._compressor is not None and passages:
            start = time.perf_counter()
            compressed = self._compressor.compress(query.search_query or query.judged, passages)
            passages, receipt = compressed.passages, compressed.receipt
            timings["compress"] = elapsed_ms(start)
        packed = pack_context(passages, plan.context_budget, self._engine.count_tokens, render_source)
        return Prepared(packed, len(found.passages), timings, checked, receipt)

    def declined_because(self, decision: Decision | None) -> str:
        """Why the system abstained before generating: nothing found, or the calibrated check said no."""
        if decision is None or self._abstainer is None:
            return "no passage of the documents searched matched the question"
        return (
            f"the closest passages do not appear to answer the question: the calibrated check puts the "
            f"chance they do at {decision.probability:.2f}, under its threshold of "
            f"{self._abstainer.model.threshold:.2f}"
        )

    def _decide(self, question: str, passages: list[Passage], timings: dict[str, float]) -> Decision | None:
        """The abstainer's decision over the packed passages (None when there is no abstainer)."""
        if self._abstainer is None or not passages:
            return None
        start = time.perf_counter()
        decision = self._abstainer.decide(question, passages)
        timings["answerability"] = elapsed_ms(start)
        return decision


class AnswerRun:
    """One answer in three stages: `prepare` (question safety, retrieval, passage safety, packing),
    `generate` (the engine's work: the answerability check and the completion) and `finish` (answer
    safety, citations, the done event). Each stage is a generator of events; run them in order."""

    def __init__(self, pipeline: AnswerPipeline, query: AnswerQuery, plan: CostPlan | None) -> None:
        self._p, self.query = pipeline, query
        self._plan = plan
        self._params = query.params or pipeline.params
        self._start = time.perf_counter()
        self._refused = False
        self._prepared: Prepared | None = None
        self._decision: Decision | None = None
        self._generated: Generated | None = None
        self._streamed: list[SentenceEvent] = []

    def prepare(self) -> Iterator[AnswerEvent]:
        """Check the question, retrieve, check and pack the passages; ends with the `SourcesEvent`."""
        safety = self._p._safety
        if safety is not None:
            checked, decisions = checked_query(safety, self.query)
            yield from safety_events(decisions)
            if checked is None:
                self._refused = True
                yield SourcesEvent([])
                return
            if checked.history != self.query.history:
                self._plan = None  # the plan fitted the history before redaction
            self.query = checked
        plan = self._plan or self._p.plan(self.query)
        self._plan = plan
        prepared = self._p._prepare(self.query, plan)
        self._prepared = prepared
        if prepared.checked is not None:
            yield from safety_events(prepared.checked.decisions)
        yield SourcesEvent(prepared.packed.included)

    def generate(self) -> Iterator[AnswerEvent]:
        """The engine's work: decide whether the passages answer the question, then stream the answer."""
        prepared = self._prepared
        if self._refused or prepared is None:
            return
        included = prepared.packed.included
        question = self.query.judged
        self._decision = self._p._decide(question, included, prepared.timings_ms)
        if not included or (self._decision is not None and not self._decision.answer):
            return
        assert self._plan is not None
        fitted = self._plan.history
        history = fitted.messages if fitted is not None else self.query.history
        summary = fitted.summary if fitted is not None else ""
        messages = build_messages(question, included, history=history, summary=summary)
        prompt_tokens = self._plan.frame_tokens + prepared.packed.tokens
        self._generated = yield from stream_completion(
            self._p._engine, messages, self._params, prepared.timings_ms, self._start,
            self._p._safety, included, self._streamed, prompt_tokens,
        )  # fmt: skip

    def finish(self) -> Iterator[AnswerEvent]:
        """Check the answer, verify its citations (reusing the sentences checked while streaming), and end
        with the `DoneEvent`."""
        prepared, generated = self._prepared, self._generated
        if self._refused or prepared is None:
            yield from refusal(self._start)
            return
        packed, timings = prepared.packed, prepared.timings_ms
        receipt = self._plan.history.receipt if self._plan and self._plan.history else None
        searched = self.query.search_query or self.query.question
        if generated is None:
            yield DeltaEvent(NOT_IN_DOCUMENTS)
            usage = Usage(0, 0, 0, packed.budget_tokens, prepared.retrieved, 0, len(packed.dropped), receipt)
            timings["total"] = elapsed_ms(self._start)
            decision = self._decision
            yield DoneEvent(
                NOT_IN_DOCUMENTS,
                [],
                usage,
                timings,
                abstained=True,
                answerability=decision,
                search_query=searched,
                declined_because=self._p.declined_because(decision),
                closest_passages=list(packed.included),
            )
            return
        safety = self._p._safety
        if safety is not None:
            shown = functools.partial(answer_as_shown, passages=packed.included)
            generated = yield from checked_answer(safety, generated, prepared.checked, shown)
        abstained = NOT_IN_DOCUMENTS.lower().rstrip(".") in generated.text.lower()
        if not abstained:
            yield from sentence_events(generated.text, packed.included, self._streamed, final=True)
        usage = Usage(
            prompt_tokens=generated.prompt_tokens,
            completion_tokens=generated.completion_tokens,
            context_tokens=packed.tokens,
            context_budget_tokens=packed.budget_tokens,
            passages_retrieved=prepared.retrieved,
            passages_included=len(packed.included),
            passages_dropped=len(packed.dropped),
            history=receipt,
            breakdown=self._breakdown(generated.prompt_tokens, timings),
        )
        text = "" if abstained else generated.text
        known = [(event.check, event.citations) for event in self._streamed]
        verification = verify_citations(text, packed.included, known=known)
        timings["total"] = elapsed_ms(self._start)
        yield DoneEvent(
            generated.text if abstained else verification.text,
            verification.citations,
            usage,
            timings,
            abstained,
            generated.finish_reason,
            self._decision,
            verification.sentences,
            search_query=searched,
            raw_answer=generated.text,
            declined_because=MODEL_DECLINED if abstained else None,
            closest_passages=list(packed.included) if abstained else [],
        )

    def _breakdown(self, prompt_tokens: int, timings: dict[str, float]) -> PromptBreakdown:
        """The prompt's tokens by part, its reading rate, the compression receipt and the timings."""
        assert self._prepared is not None and self._plan is not None
        fitted = self._plan.history
        history = fitted.receipt.tokens if fitted is not None else 0
        question = self._p._engine.count_tokens(self.query.judged)
        prepared = self._prepared
        return prompt_breakdown(
            prompt_tokens, prepared.packed.tokens, question, history, timings, prepared.compression
        )


@dataclass(frozen=True)
class Generated:
    """A finished completion: its text, token counts and why it stopped."""

    text: str
    prompt_tokens: int
    completion_tokens: int
    finish_reason: FinishReason


def stream_completion(
    engine: Engine,
    messages: list[ChatMessage],
    params: GenerationParams,
    timings: dict[str, float],
    start: float,
    safety: SafetyGate | None = None,
    passages: Sequence[Passage] = (),
    checked: list[SentenceEvent] | None = None,
    prompt_tokens: int | None = None,
    tokens: TokenizedPrompt | None = None,
) -> Generator[DeltaEvent | SentenceEvent, None, Generated]:
    """Stream a completion as delta events, recording first-token and generation times in `timings`.

    With `passages`, each sentence is checked against them as soon as it is finished (`SentenceEvent`).
    When the safety policy may withhold or redact the answer, the deltas are held back until it is checked
    (and the sentences are checked only in the `DoneEvent`). `checked` collects the sentence events sent.
    An engine that generates from token ids (`PromptTokenizer`: llama.cpp) gets the prompt tokenized once,
    here or by the caller (`tokens`), and its count is exact; a text-only engine gets the messages, and
    `prompt_tokens`, when the caller counted the prompt already (from its planned parts), saves
    tokenizing it for the count.
    """
    hold = safety is not None and safety.policy.holds_output()
    if tokens is None and isinstance(engine, PromptTokenizer):
        tokens = engine.tokenize_prompt(messages)
    if tokens is not None:
        prompt_tokens = len(tokens.token_ids)
    elif prompt_tokens is None:
        prompt_tokens = engine.count_prompt_tokens(messages)
    if prompt_tokens + params.max_tokens > engine.context_window:
        raise PromptTooLong(
            f"the prompt has {prompt_tokens} tokens and up to {params.max_tokens} may be generated, "
            f"but the model's context window holds {engine.context_window}: shorten the messages"
        )
    pieces: list[str] = []
    checked = [] if checked is None else checked
    generate_start = time.perf_counter()
    for piece in _engine_stream(engine, messages, params, tokens):
        if not pieces:
            timings["first_token"] = elapsed_ms(start)
            timings["prompt_read"] = elapsed_ms(generate_start)
        pieces.append(piece)
        if not hold:
            yield DeltaEvent(piece)
            if passages:
                yield from sentence_events("".join(pieces), passages, checked)
    timings["generate"] = elapsed_ms(generate_start)
    text = "".join(pieces).strip()
    completion_tokens = engine.count_tokens("".join(pieces))
    finish: FinishReason = "length" if completion_tokens >= params.max_tokens else "stop"
    return Generated(text, prompt_tokens, completion_tokens, finish)


def _engine_stream(
    engine: Engine, messages: list[ChatMessage], params: GenerationParams, tokens: TokenizedPrompt | None
) -> Iterator[str]:
    """The engine's completion: from the token ids when it takes them, else from the messages."""
    if tokens is not None and isinstance(engine, PromptTokenizer):
        return engine.stream_tokens(tokens, params)
    return engine.stream(messages, params)


def sentence_events(
    text: str, passages: Sequence[Passage], checked: list[SentenceEvent], final: bool = False
) -> Iterator[SentenceEvent]:
    """Check the sentences of the partial answer `text` finished since the last call (`checked` holds the
    events sent so far, and is extended); with `final`, the text is complete and its last sentence too."""
    ready = checkable_sentences(text) if final else finished_sentences(text)
    for sentence in ready[len(checked) :]:
        result = check_sentence(sentence, passages)
        assert result is not None
        event = SentenceEvent(len(checked), result[0], result[1])
        checked.append(event)
        yield event


def refusal(start: float) -> Iterator[AnswerEvent]:
    """The events after the (empty) sources of a question the safety policy blocked: a refusal, no tokens
    spent."""
    yield DeltaEvent(REFUSAL)
    timings = {"total": elapsed_ms(start)}
    yield DoneEvent(REFUSAL, [], Usage(0, 0, 0, 0, 0, 0, 0), timings)


def checked_answer(
    safety: SafetyGate,
    generated: Generated,
    context: ContextVerdict | None,
    shown: Callable[[str], str] = str,
) -> Generator[AnswerEvent, None, Generated]:
    """Report the output checks; when deltas were held back, release the text the policy allows, as
    `shown` renders it (the answer with its markers rewritten)."""
    verdict = safety.check_answer(generated.text, context)
    yield from safety_events(verdict.decisions)
    if safety.policy.holds_output():
        yield DeltaEvent(shown(verdict.text))
    return dataclasses.replace(generated, text=verdict.text)


def answer_as_shown(text: str, passages: Sequence[Passage]) -> str:
    """The answer with its markers rewritten to the passages that support each sentence (an abstention
    is left as it is)."""
    if NOT_IN_DOCUMENTS.lower().rstrip(".") in text.lower():
        return text
    return verify_citations(text, passages).text
