"""Verity's settings: one object, read from `VERITY_*` environment variables (and nowhere else)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


def default_data_dir() -> Path:
    """`$XDG_DATA_HOME/verity`, else `~/.local/share/verity`: the same folder wherever a command runs."""
    base = os.environ.get("XDG_DATA_HOME") or "~/.local/share"
    return Path(base).expanduser() / "verity"


AbuseAction = Literal["record", "throttle", "suspend"]


def default_abuse_actions() -> dict[str, AbuseAction]:
    """Suspend a shared key and a probing one; throttle keys of a correlated burst and a spiking tenant."""
    return {"shared_key": "suspend", "correlated_burst": "throttle", "probing": "suspend",
            "tenant_spike": "throttle"}  # fmt: skip


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
    compression_neighbours: int = Field(
        2, ge=0, le=10, description="sentences kept on either side of each passage's best sentence"
    )
    abstention: bool = Field(True, description="let the calibrated abstainer decide whether to answer")
    abstention_model: Path | None = Field(
        None,
        description="an abstention calibration JSON (verity eval calibrate-abstention); default: built in",
    )
    candidates: int = Field(200, ge=1, description="candidates each retriever contributes before fusion")
    answerability_model_dir: Path = Field(
        Path("~/.cache/verity/models/answerability").expanduser(),
        description="Verity's trained answerability model (verity eval train-answerability); "
        "absent: the engine's check decides",
    )
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

    # Governance (docs/governance.md): retention in days (none: kept until deleted), abuse detection
    retention_usage_days: float | None = Field(400, gt=0, description="usage ledger records")
    retention_conversations_days: float | None = Field(
        365, gt=0, description="conversations, counted from their last message"
    )
    retention_feedback_days: float | None = Field(365, gt=0, description="ratings of answers")
    retention_uploads_days: float | None = Field(
        None, gt=0, description="uploaded documents, with their chunks, vectors and files"
    )
    retention_jobs_days: float | None = Field(30, gt=0, description="finished ingest job records")
    retention_audit_days: float | None = Field(730, gt=0, description="audit entries (then redacted)")
    purge_interval_s: float = Field(
        3600, ge=0, description="how often the server purges what is past its retention (0: never)"
    )
    trusted_proxies: list[str] = Field(
        default_factory=list,
        description='addresses whose X-Forwarded-For is believed, as a JSON list, e.g. ["127.0.0.1"]',
    )
    abuse_actions: dict[str, AbuseAction] = Field(
        default_factory=default_abuse_actions,
        description="what each abuse signal does: record, throttle (lower limits for a while) or suspend "
        "(the key, or the tenant for tenant_spike, until an admin lifts it)",
    )  # fmt: skip
    abuse_window_s: float = Field(600, gt=0, description="the window of the shared-key and probing signals")
    abuse_key_addresses: int = Field(5, ge=2, description="addresses of one key that flag it as shared")
    abuse_probe_blocks: int = Field(5, ge=1, description="safety blocks of one key that flag it as probing")
    abuse_burst_keys: int = Field(5, ge=2, description="keys bursting in the same slice that flag a burst")
    abuse_burst_slice_s: float = Field(60, gt=0, description="the slice a burst is counted in")
    abuse_burst_min: int = Field(10, ge=1, description="requests in a slice for a key to count as bursting")
    abuse_burst_factor: float = Field(5.0, gt=1, description="times its own mean a bursting key must reach")
    abuse_baseline_hours: float = Field(24, gt=0, description="the history a tenant's baseline is taken from")
    abuse_spike_factor: float = Field(10.0, gt=1, description="times its hourly baseline that flags a tenant")
    abuse_spike_min: int = Field(200, ge=1, description="requests in the last hour before a spike counts")
    abuse_throttle_s: float = Field(3600, gt=0, description="how long a throttle lasts")
    abuse_throttle_rpm: int = Field(2, ge=1, description="requests per minute a throttled key or tenant gets")
    abuse_scan_interval_s: float = Field(60, ge=0, description="how often the server scans (0: never)")

    @field_validator(
        "retention_usage_days", "retention_conversations_days", "retention_feedback_days",
        "retention_uploads_days", "retention_jobs_days", "retention_audit_days", mode="before",
    )  # fmt: skip
    @classmethod
    def _kept_forever(cls, value: object) -> object:
        """An empty value, `forever` or `none` keeps that kind of data until it is deleted."""
        return None if isinstance(value, str) and value.strip().lower() in ("", "forever", "none") else value

    @field_validator("abuse_actions")
    @classmethod
    def _known_signals(cls, value: dict[str, AbuseAction]) -> dict[str, AbuseAction]:
        """Every signal named must exist (a typo would otherwise leave its default in force silently)."""
        if unknown := sorted(set(value) - set(default_abuse_actions())):
            known = ", ".join(default_abuse_actions())
            raise ValueError(f"unknown signals {unknown}; the signals are {known}")
        return value

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
    def governance_path(self) -> Path:
        """The governance SQLite file: the audit trail, retention overrides and abuse flags."""
        return self.data_dir / "governance.sqlite3"

    @property
    def rollout_path(self) -> Path:
        """Drained replicas and the canary's decision, shared by gateways and the CLI (app.rollout)."""
        return self.data_dir / "rollout.json"

    @property
    def uploads_dir(self) -> Path:
        """Where uploaded files are kept."""
        return self.data_dir / "uploads"
