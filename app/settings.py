"""Verity's settings: one object, read from `VERITY_*` environment variables (and nowhere else)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


def default_data_dir() -> Path:
    """`$XDG_DATA_HOME/verity`, else `~/.local/share/verity`: the same folder wherever a command runs."""
    base = os.environ.get("XDG_DATA_HOME") or "~/.local/share"
    return Path(base).expanduser() / "verity"


class Settings(BaseSettings):
    """Everything configurable. Every model is a setting: a local path, a packaged name or a hub name."""

    model_config = SettingsConfigDict(env_prefix="VERITY_", extra="ignore")

    data_dir: Path = Field(
        default_factory=default_data_dir,
        description="where the catalog, indexes and uploads live (default: $XDG_DATA_HOME/verity, else "
        "~/.local/share/verity)",
    )
    model_cache_dir: Path = Field(
        Path("~/.cache/verity/models").expanduser(), description="where packaged GGUF models are assembled"
    )
    embedding_model: str = "all-MiniLM-L6-v2"
    embedding_batch_size: int = Field(32, ge=1)
    llm_model: str = Field(
        "qwen2.5-coder-1.5b-instruct-q4_k_m", description="a GGUF path or a packaged model name"
    )
    llm_threads: int = Field(
        0,
        ge=0,
        description="llama.cpp threads; 0: before each generation, the cores other running work leaves "
        "free (all of them on an idle machine, one when the machine is busy)",
    )
    llm_context_window: int = Field(4096, ge=512)
    llm_gpu_layers: int = Field(0, description="layers offloaded to the GPU (-1: all); needs a CUDA build")
    max_answer_tokens: int = Field(384, ge=1)
    temperature: float = Field(0.1, ge=0.0, le=2.0)
    context_budget_tokens: int = Field(2048, ge=64)
    history_budget_tokens: int = Field(
        768,
        ge=0,
        description="most tokens of earlier conversation turns in a prompt (at most a third "
        "of the window left after system prompt, question and answer)",
    )
    top_k: int = Field(5, ge=1, le=50)
    context_compression: bool = Field(
        True,
        description="keep only the sentences of each passage that bear on the question (with neighbours) "
        "before packing; false: passages whole",
    )
    abstention: bool = Field(True, description="let the calibrated abstainer decide whether to answer")
    abstention_model: Path | None = Field(
        None,
        description="an abstention calibration JSON (verity eval calibrate-abstention); default: built in",
    )
    candidates: int = Field(200, ge=1, description="candidates each retriever contributes before fusion")
    search_cache_size: int = Field(
        1024, ge=0, description="search results kept until the index changes (0: no cache)"
    )
    reranker_model: str | None = Field(None, description="a cross-encoder path or name; none ships offline")
    rerank_depth: int = Field(20, ge=1)
    chunk_tokens: int = Field(200, ge=16, description="largest chunk, in embedder tokens")
    chunk_overlap: int = Field(48, ge=0, description="tokens a chunk repeats from the previous one")
    fusion: Literal["rrf", "convex"] = Field("convex", description="how BM25 and dense rankings merge")
    fusion_bm25_weight: float = Field(0.5, ge=0.0, le=1.0, description="BM25's share; dense gets the rest")
    fusion_normalization: Literal["minmax", "zscore"] = "minmax"
    rrf_k: int = Field(60, ge=1)
    document_boost: float = Field(
        0.0, ge=0.0, description="share of a document's other matches a chunk gains"
    )
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)
    max_upload_mb: int = Field(100, ge=1)
    # The gateway (docs/gateway.md)
    auth: Literal["auto", "required", "off"] = Field(
        "auto", description="auto: on once any API key exists; required: always; off: never"
    )
    admin_key: SecretStr | None = Field(None, description="the bearer key of the /admin API")
    credits_required: bool = Field(
        False, description="enforce credits for every tenant, not only for tenants ever granted credits"
    )
    model_prices: dict[str, float] = Field(
        default_factory=dict, description='credits per token by model, JSON: {"scripted": 2.0}'
    )
    key_rpm: int | None = Field(None, ge=1, description="requests per minute per key")
    key_tpm: int | None = Field(None, ge=1, description="tokens per minute per key")
    key_streams: int | None = Field(None, ge=1, description="concurrent streams per key")
    tenant_rpm: int | None = Field(None, ge=1, description="requests per minute per tenant")
    tenant_tpm: int | None = Field(None, ge=1, description="tokens per minute per tenant")
    tenant_streams: int | None = Field(None, ge=1, description="concurrent streams per tenant")
    queue_depth: int = Field(64, ge=1, description="requests that may wait for the engine")
    queue_deadline_s: float = Field(
        60.0,
        gt=0,
        description="a request's deadline for its wait at the engine: refused at admission with 503 and "
        "Retry-After when its predicted wait is longer, shed with 503 if it still waits past it; a request "
        "may set its own with the X-Verity-Deadline header",
    )
    tenant_weights: dict[str, float] = Field(default_factory=dict, description="fair-queue weight by tenant")
    tenant_tiers: dict[str, int] = Field(
        default_factory=dict, description="priority tier by tenant (higher is served first), e.g. paid: 1"
    )
    embedding_batch_window_ms: float = Field(2.0, ge=0, description="how long embedding calls gather")
    vector_store: Literal["faiss", "qdrant", "pgvector"] = Field(
        "faiss", description="where chunk vectors live: FAISS files, Qdrant, or Postgres + pgvector"
    )
    faiss_index: Literal["flat", "hnsw", "ivfpq"] = Field(
        "flat", description="FAISS index kind: exact flat, HNSW, or IVF-PQ with an exact refine"
    )
    faiss_gpu: bool = Field(
        False, description="flat FAISS searches on GPU 0 (needs faiss-gpu, the gpu extra)"
    )
    qdrant_url: str | None = Field(None, description="a Qdrant server; unset: embedded Qdrant at qdrant_path")
    qdrant_path: Path | None = Field(None, description="embedded Qdrant's folder (default: DATA_DIR/qdrant)")
    qdrant_collection: str = "verity_chunks"
    pg_dsn: str | None = Field(None, description="PostgreSQL with pgvector, e.g. postgresql://user@host/db")
    database_url: str | None = Field(
        None,
        description="PostgreSQL for the catalog, keys, credits, usage, jobs and conversations, e.g. "
        "postgresql://user@host/db; unset: SQLite files in DATA_DIR (one machine)",
    )
    redis_url: str | None = Field(
        None,
        description="Redis for rate limits and concurrency slots shared by several processes, e.g. "
        "redis://host:6379/0; unset: kept in the process (one machine)",
    )
    pg_table: str = "verity_chunks"
    worker_heartbeat_s: float = Field(
        10.0, gt=0, description="how often a `verity worker` tells the job queue it is alive (seconds)"
    )
    worker_stalled_after_s: float = Field(
        30.0,
        gt=0,
        description="a worker silent this long is taken for dead: its ingest job is resumed by another",
    )

    @model_validator(mode="after")
    def _vector_store_settings_agree(self) -> Settings:
        if self.vector_store == "pgvector" and not self.pg_dsn:
            raise ValueError(
                "VERITY_VECTOR_STORE=pgvector needs VERITY_PG_DSN (python scripts/embedded_pg.py start DIR "
                "starts a local PostgreSQL with pgvector and prints one)"
            )
        if self.faiss_gpu and self.faiss_index != "flat":
            raise ValueError("VERITY_FAISS_GPU applies to VERITY_FAISS_INDEX=flat")
        return self

    @model_validator(mode="after")
    def _shared_state_urls_are_what_they_say(self) -> Settings:
        if self.database_url and not self.database_url.startswith(("postgresql://", "postgres://")):
            raise ValueError(
                "VERITY_DATABASE_URL must be a postgresql:// URL (unset it to keep SQLite files in DATA_DIR)"
            )
        if self.redis_url and not self.redis_url.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("VERITY_REDIS_URL must be a redis://, rediss:// or unix:// URL")
        return self

    # Engine replicas, canary rollout and logs (docs/configuration.md, docs/deployment.md)
    engine_urls: list[str] = Field(
        default_factory=list,
        description="OpenAI-compatible engine servers (llama-server, vLLM) as a JSON list, e.g. "
        '["http://engine-a:8080", "http://engine-b:8080"]; empty: the in-process llama.cpp model',
    )
    engine_model: str = Field("", description="the model name the replicas serve; empty: VERITY_LLM_MODEL")
    engine_api_key: SecretStr | None = Field(None, description="bearer key the engine servers expect")
    engine_slots: int = Field(2, ge=1, description="requests each replica runs at once (llama-server -np)")
    engine_timeout_s: float = Field(120.0, gt=0, description="longest wait for a replica's reply")
    engine_health_interval_s: float = Field(5.0, gt=0, description="seconds between replica health checks")
    engine_breaker_failures: int = Field(3, ge=1, description="failures in a row that open a breaker")
    engine_breaker_cooldown_s: float = Field(10.0, gt=0, description="how long an open breaker rests")
    engine_affinity_slack: int = Field(
        1, ge=0, description="extra requests a conversation's preferred replica may run before the least "
        "busy one takes it instead"
    )  # fmt: skip
    canary_engine_urls: list[str] = Field(
        default_factory=list, description="engine servers of a canary model (JSON list); empty: no canary"
    )
    canary_model: str = Field("", description="the canary's model name (its decision is kept per name)")
    canary_share: float = Field(0.1, ge=0.0, le=1.0, description="the canary's share of traffic")
    canary_min_requests: int = Field(20, ge=1, description="canary requests before it can be rolled back")
    canary_max_error_rate: float = Field(0.05, ge=0.0, le=1.0, description="error rate that rolls it back")
    canary_max_first_token_s: float | None = Field(
        None, gt=0, description="p95 time to first token that rolls the canary back (unset: no limit)"
    )
    log_format: Literal["json", "text"] = Field("json", description="`verity serve` logs: JSON lines or text")

    safety: Literal["on", "off"] = Field("on", description="safety filters on questions, passages, answers")
    safety_scan_at_ingest: bool = Field(
        True, description="scan chunks for planted instructions while ingesting, not when first retrieved"
    )
    safety_encoder: str = Field(
        "qwen2.5-coder-0.5b-instruct-q4_k_m",
        description="GGUF path or packaged model with which the input filter's second stage reads "
        "questions its first stage is unsure of; empty: first stage only",
    )
    safety_policy: str = Field(
        "", description="category=action pairs overriding the default safety policy, e.g. pii=flag,harm=block"
    )

    @property
    def catalog_path(self) -> Path:
        """The SQLite catalog file."""
        return self.data_dir / "catalog.sqlite3"

    @property
    def index_dir(self) -> Path:
        """Where vector index versions are written."""
        return self.data_dir / "index"

    @property
    def gateway_path(self) -> Path:
        """The gateway's SQLite file: keys, credits and the usage ledger."""
        return self.data_dir / "gateway.sqlite3"

    @property
    def conversations_path(self) -> Path:
        """The conversations' SQLite file."""
        return self.data_dir / "conversations.sqlite3"

    @property
    def rollout_path(self) -> Path:
        """Drained replicas and the canary's decision, shared by gateways and the CLI (app.rollout)."""
        return self.data_dir / "rollout.json"

    @property
    def uploads_dir(self) -> Path:
        """Where uploaded files are kept."""
        return self.data_dir / "uploads"
