"""Request and response bodies of the HTTP API (pydantic), and their rendering from pipeline records."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from generation.answer import DoneEvent, Usage
from generation.citations import Citation
from retrieval.types import Document, Passage

MAX_EMBEDDING_INPUTS = 2048


class AnswerRequest(BaseModel):
    """`POST /v1/answers`."""

    question: str = Field(min_length=1, max_length=4000, description="what to answer from the documents")
    collection: str | None = Field(None, min_length=1, max_length=200, description="search only this one")
    top_k: int | None = Field(None, ge=1, le=50, description="passages to retrieve (default: the setting)")
    stream: bool = Field(False, description="send server-sent events instead of one JSON body")


class SourceOut(BaseModel):
    """A numbered passage shown to the model."""

    number: int
    document_id: str
    source: str
    page: int | None
    section: str | None
    text: str
    char_start: int
    char_end: int
    score: float


class CitationOut(SourceOut):
    """A passage the answer relies on, and how that was found (`marker`: the model's [n]; `overlap`)."""

    method: Literal["marker", "overlap"]


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


class SafetyOut(BaseModel):
    """One safety check of the answer pipeline (Verity's addition)."""

    stage: str
    decision: Literal["flagged", "passed"]
    category: str
    score: float
    action: str


class AnswerOut(BaseModel):
    """The answer, its citations and sources, usage and timings."""

    id: str
    object: Literal["answer"] = "answer"
    created: int
    model: str
    answer: str
    abstained: bool
    citations: list[CitationOut]
    sources: list[SourceOut]
    usage: UsageOut
    timings: dict[str, float]
    safety: list[SafetyOut] = Field(default_factory=list)


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
    documents: int
    index_version: int
    embedding_model: str
    llm_model: str


def source_out(number: int, passage: Passage) -> SourceOut:
    """Render a numbered passage."""
    c = passage.chunk
    return SourceOut(
        number=number,
        document_id=c.document_id,
        source=c.source_path,
        page=c.page,
        section=c.section,
        text=c.text,
        char_start=c.char_start,
        char_end=c.char_end,
        score=passage.score,
    )


def citation_out(citation: Citation) -> CitationOut:
    """Render a citation."""
    base = source_out(citation.number, citation.passage)
    return CitationOut(**base.model_dump(), method=citation.method)


def usage_out(usage: Usage) -> UsageOut:
    """Render usage."""
    return UsageOut(
        prompt_tokens=usage.prompt_tokens,
        completion_tokens=usage.completion_tokens,
        total_tokens=usage.total_tokens,
        context_tokens=usage.context_tokens,
        context_budget_tokens=usage.context_budget_tokens,
        passages_retrieved=usage.passages_retrieved,
        passages_included=usage.passages_included,
        passages_dropped=usage.passages_dropped,
    )


def done_payload(done: DoneEvent) -> dict[str, object]:
    """The `done` event's data."""
    return {
        "answer": done.answer,
        "abstained": done.abstained,
        "citations": [citation_out(c).model_dump() for c in done.citations],
        "usage": usage_out(done.usage).model_dump(),
        "timings": done.timings_ms,
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
    """An ingest job and its progress (times are Unix seconds)."""

    id: str
    object: Literal["job"] = "job"
    collection: str
    state: Literal["queued", "running", "succeeded", "partial", "failed"]
    files: list[str]
    files_total: int
    files_done: int
    chunks_done: int
    errors: list[FileErrorOut]
    created_at: float
    started_at: float | None
    finished_at: float | None
    eta_seconds: float | None = Field(
        description="seconds left at the pace so far; null before a file is done"
    )


class JobList(BaseModel):
    """`GET /v1/jobs` response."""

    object: Literal["list"] = "list"
    data: list[JobOut]
