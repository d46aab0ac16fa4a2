"""Request and response bodies of the HTTP API (pydantic), and their rendering from pipeline records."""

from __future__ import annotations

import dataclasses
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from app.http.times import IsoTime
from app.names import CollectionName, Question
from generation.abstention import Decision
from generation.answer import DoneEvent, SafetyEvent, SentenceEvent, Usage
from generation.breakdown import PromptBreakdown
from generation.citations import Citation, SentenceCheck
from generation.history import HistoryReceipt
from retrieval.types import Document, Passage

MAX_EMBEDDING_INPUTS = 2048


class AnswerRequest(BaseModel):
    """`POST /v1/answers`. Unknown fields are refused (400 naming the field)."""

    model_config = ConfigDict(extra="forbid")

    question: Question = Field(description="what to answer from the documents")
    collection: CollectionName | None = Field(None, description="search only this collection")
    top_k: int | None = Field(None, ge=1, le=50, description="passages to retrieve (default: the setting)")
    stream: bool = Field(False, description="send server-sent events instead of one JSON body")


class SourceOut(BaseModel):
    """A numbered passage shown to the model."""

    number: int
    chunk_id: int = Field(description="the passage's id: GET /v1/passages/{chunk_id} opens it")
    document_id: str
    source: str
    page: int | None
    section: str | None
    text: str
    char_start: int
    char_end: int
    score: float


class CitationOut(SourceOut):
    """A passage the answer relies on, and how that was found (`marker`: the model's [n]; `overlap`).

    `verified`: the passage supports the cited sentence (`support_score`: the share of the sentence's
    content words it holds); `span_start`/`span_end`: the supporting sentence's characters in the document.
    """

    method: Literal["marker", "overlap"]
    verified: bool = True
    support_score: float = 0.0
    span_start: int = 0
    span_end: int = 0


class SentenceOut(BaseModel):
    """One answer sentence: whether a shown passage supports it, and the markers fixed or flagged.

    `text` is the sentence as the answer shows it, its markers rewritten to `citations`; `raw_text` and
    `original_markers` are what the model wrote. `check` names the test: "lexical+entities" (the passage
    holds at least half of the sentence's content words and every number, date and name in it);
    `missing_terms`: the numbers and names an unsupported sentence states that its closest passage lacks.
    """

    text: str
    supported: bool
    citations: list[int]
    invalid_markers: list[int]
    corrected_markers: list[int]
    raw_text: str = ""
    original_markers: list[int] = Field(default_factory=list)
    check: str = "lexical+entities"
    missing_terms: list[str] = Field(default_factory=list)


class AnswerabilityOut(BaseModel):
    """The system's decision to answer or abstain, the calibrated probability and its evidence."""

    answered: bool
    probability: float
    evidence: dict[str, float | None]


class HistoryUsageOut(BaseModel):
    """In a conversation, what the history share of the context budget let in: earlier turns kept
    whole, summarised (their questions kept in one line) and dropped, oldest first."""

    turns: int
    kept: int
    summarised: int
    dropped: int
    tokens: int
    budget_tokens: int


class CompressionOut(BaseModel):
    """What context compression cut from the passages retrieved: passages cut, sentences and characters
    before and after."""

    passages: int
    passages_cut: int
    sentences: int
    sentences_kept: int
    chars: int
    chars_kept: int


class BreakdownOut(BaseModel):
    """Verity's breakdown of the prompt (beside OpenAI's token counts): its tokens by part, the engine's
    prompt-reading rate (tokens per second before the first token, a cached prefix included), the
    time to the first token and of the answerability check, and what compression cut."""

    instructions_tokens: int
    sources_tokens: int
    question_tokens: int
    history_tokens: int
    prompt_tokens_per_s: float
    first_token_ms: float
    answerability_ms: float
    compression: CompressionOut | None = None


class UsageOut(BaseModel):
    """Tokens of one answer and what the context budget let in."""

    prompt_tokens: int
    completion_tokens: int
    total_tokens: int
    context_tokens: int
    context_budget_tokens: int
    passages_retrieved: int
    passages_included: int
    passages_dropped: int
    timings_ms: dict[str, float] = Field(default_factory=dict)
    history: HistoryUsageOut | None = None
    breakdown: BreakdownOut | None = None


class SafetyOut(BaseModel):
    """One safety check of the answer pipeline (Verity's addition)."""

    stage: str
    decision: Literal["flagged", "passed"]
    category: str
    score: float
    action: str


class AnswerOut(BaseModel):
    """The answer, its citations and sources, usage and timings: the JSON answer, and the data of the
    streamed `done` event (the same fields)."""

    id: str
    object: Literal["answer"] = "answer"
    created: int
    model: str
    answer: str = Field(description="the answer, its [n] markers rewritten to the sources that support it")
    raw_answer: str = Field("", description="the answer as the model wrote it")
    abstained: bool
    finish_reason: Literal["stop", "length"] = "stop"
    citations: list[CitationOut]
    sources: list[SourceOut]
    usage: UsageOut
    timings: dict[str, float]
    sentences: list[SentenceOut] = Field(default_factory=list)
    answerability: AnswerabilityOut | None = None
    safety: list[SafetyOut] = Field(default_factory=list)
    search_query: str = Field(
        "",
        description="what was searched for: the question, or in a conversation the follow-up made "
        "standalone followed by the previous standalone question",
    )
    declined_because: str | None = Field(None, description="why the answer is 'Not in your documents.'")
    closest_passages: list[SourceOut] = Field(
        default_factory=list, description="on abstention: the passages that came closest, best first"
    )


class EmbeddingRequest(BaseModel):
    """`POST /v1/embeddings`, as OpenAI defines it."""

    input: str | list[str] | list[int] | list[list[int]] = Field(
        description="text, texts, or token ids of the embedding model's vocabulary"
    )
    model: str = Field(description="the embedding model's name, or 'default'")
    encoding_format: Literal["float", "base64"] = "float"
    dimensions: int | None = Field(None, ge=1)
    user: str | None = None


class EmbeddingOut(BaseModel):
    """One embedding."""

    object: Literal["embedding"] = "embedding"
    index: int
    embedding: list[float] | str


class EmbeddingUsage(BaseModel):
    """Tokens read."""

    prompt_tokens: int
    total_tokens: int


class EmbeddingResponse(BaseModel):
    """`POST /v1/embeddings` response."""

    object: Literal["list"] = "list"
    data: list[EmbeddingOut]
    model: str
    usage: EmbeddingUsage


class DocumentOut(BaseModel):
    """A stored document."""

    id: str
    object: Literal["document"] = "document"
    collection: str
    source: str
    title: str
    content_hash: str
    chunks: int
    created_at: str
    type: str | None = Field(None, description="the file type, from its name's extension (listings only)")
    bytes: int | None = Field(None, description="the kept upload's size (listings only; null: not kept)")
    pages: int | None = Field(None, description="pages its chunks came from (listings only; null: none)")


class FileErrorOut(BaseModel):
    """A file that could not be ingested, and why."""

    filename: str
    message: str
    code: str


class UploadResponse(BaseModel):
    """`POST /v1/documents` response: a status per file."""

    object: Literal["list"] = "list"
    data: list[DocumentOut]
    statuses: dict[str, Literal["added", "replaced", "unchanged", "skipped"]]
    errors: list[FileErrorOut]


class DocumentList(BaseModel):
    """`GET /v1/documents` response."""

    object: Literal["list"] = "list"
    data: list[DocumentOut]


class DeletedOut(BaseModel):
    """`DELETE /v1/documents/{id}` response."""

    id: str
    object: Literal["document"] = "document"
    deleted: bool = True


class HealthOut(BaseModel):
    """`GET /healthz` response."""

    status: Literal["ok"] = "ok"
    documents: int = Field(description="documents of all tenants together")
    index_version: int
    embedding_model: str
    llm_model: str


class BackendOut(BaseModel):
    """One backend in `GET /readyz`."""

    name: str = Field(description="database, redis or vector_store")
    backend: str = Field(description="what serves it: sqlite, postgresql, redis, faiss, qdrant or pgvector")
    ok: bool
    detail: str = Field(description="where it is, or what is wrong with it")


class ReadyOut(BaseModel):
    """`GET /readyz` response: 200 when every configured backend answers, 503 naming the ones that do not."""

    status: Literal["ready", "unavailable"]
    down: list[str] = Field(description="names of the backends that did not answer")
    backends: list[BackendOut]


def source_out(number: int, passage: Passage) -> SourceOut:
    """Render a numbered passage."""
    c = passage.chunk
    return SourceOut(
        number=number,
        chunk_id=c.id,
        document_id=c.document_id,
        source=c.source_path,
        page=c.page,
        section=c.section,
        text=passage.reader_text,
        char_start=c.char_start,
        char_end=c.char_end,
        score=passage.score,
    )


def citation_out(citation: Citation) -> CitationOut:
    """Render a citation."""
    base = source_out(citation.number, citation.passage)
    return CitationOut(
        **base.model_dump(),
        method=citation.method,
        verified=citation.verified,
        support_score=citation.score,
        span_start=citation.span_start,
        span_end=citation.span_end,
    )


def sentence_out(check: SentenceCheck) -> SentenceOut:
    """Render one sentence's check."""
    return SentenceOut(
        text=check.text,
        supported=check.supported,
        citations=list(check.numbers),
        invalid_markers=list(check.invalid_markers),
        corrected_markers=list(check.corrected_markers),
        raw_text=check.raw_text or check.text,
        original_markers=list(check.original_markers),
        check=check.check,
        missing_terms=list(check.missing_terms),
    )


def answerability_out(decision: Decision | None) -> AnswerabilityOut | None:
    """Render the abstainer's decision (None when no abstainer ran)."""
    if decision is None:
        return None
    return AnswerabilityOut(
        answered=decision.answer,
        probability=round(decision.probability, 4),
        evidence=decision.evidence.as_dict(),
    )


def usage_out(usage: Usage, timings_ms: dict[str, float] | None = None) -> UsageOut:
    """Render usage, with the per-stage timings when given."""
    return UsageOut(
        prompt_tokens=usage.prompt_tokens,
        completion_tokens=usage.completion_tokens,
        total_tokens=usage.total_tokens,
        context_tokens=usage.context_tokens,
        context_budget_tokens=usage.context_budget_tokens,
        passages_retrieved=usage.passages_retrieved,
        passages_included=usage.passages_included,
        passages_dropped=usage.passages_dropped,
        timings_ms=timings_ms or {},
        history=history_out(usage.history),
        breakdown=breakdown_out(usage.breakdown),
    )


def breakdown_out(breakdown: PromptBreakdown | None) -> BreakdownOut | None:
    """Render the prompt breakdown (None when no text was generated)."""
    if breakdown is None:
        return None
    fields = dataclasses.asdict(breakdown)
    return BreakdownOut.model_validate(fields)


def history_out(receipt: HistoryReceipt | None) -> HistoryUsageOut | None:
    """Render the history receipt (None outside a conversation)."""
    if receipt is None:
        return None
    return HistoryUsageOut(
        turns=receipt.turns,
        kept=receipt.kept,
        summarised=receipt.summarised,
        dropped=receipt.dropped,
        tokens=receipt.tokens,
        budget_tokens=receipt.budget_tokens,
    )


def done_payload(done: DoneEvent) -> dict[str, object]:
    """The `done` event's data."""
    return {
        "answer": done.answer,
        "raw_answer": done.raw_answer,
        "abstained": done.abstained,
        "citations": [citation_out(c).model_dump() for c in done.citations],
        "usage": usage_out(done.usage, done.timings_ms).model_dump(),
        "timings": done.timings_ms,
        "sentences": [sentence_out(s).model_dump() for s in done.sentences],
        "answerability": (a.model_dump() if (a := answerability_out(done.answerability)) else None),
        "declined_because": done.declined_because,
        "closest_passages": [p.model_dump() for p in closest_passages_out(done)],
    }


def safety_out(event: SafetyEvent) -> SafetyOut:
    """Render one safety check."""
    return SafetyOut(
        stage=event.stage, decision=event.decision, category=event.category, score=event.score,
        action=event.action,
    )  # fmt: skip


def closest_passages_out(done: DoneEvent) -> list[SourceOut]:
    """Render the passages that came closest to an answer the system declined to give."""
    return [source_out(i, p) for i, p in enumerate(done.closest_passages, start=1)]


def sentence_event_payload(event: SentenceEvent) -> dict[str, object]:
    """The `sentence` event's data: a finished answer sentence, its check and its citations."""
    return {
        "index": event.index,
        **sentence_out(event.check).model_dump(),
        "sources": [citation_out(c).model_dump() for c in event.citations],
    }


def document_out(document: Document) -> DocumentOut:
    """Render a document."""
    return DocumentOut(
        id=document.id,
        collection=document.collection,
        source=document.source_path,
        title=document.title,
        content_hash=document.content_hash,
        chunks=document.n_chunks,
        created_at=document.created_at,
    )


class JobOut(BaseModel):
    """An ingest job and its progress (times in ISO 8601, UTC)."""

    id: str
    object: Literal["job"] = "job"
    collection: str
    state: Literal["queued", "running", "succeeded", "partial", "failed"]
    files: list[str]
    files_total: int
    files_done: int
    chunks_done: int
    errors: list[FileErrorOut]
    created_at: IsoTime
    started_at: IsoTime | None
    finished_at: IsoTime | None
    eta_seconds: float | None = Field(
        description="seconds left at the pace so far; null before a file is done"
    )
    resumed: int = Field(0, description="times the job was resumed after the server stopped mid-job")


class JobList(BaseModel):
    """`GET /v1/jobs` response."""

    object: Literal["list"] = "list"
    data: list[JobOut]
