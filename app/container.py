"""Builds every concrete object from `Settings`, once, and hands them down."""

from __future__ import annotations

import functools
import logging
import os
from collections.abc import Callable, Sequence
from pathlib import Path

from app import kept_uploads
from app.conversations.service import Conversations
from app.conversations.store import ConversationStore
from app.engine_pools import RemoteEngines, build_remote_engines
from app.feedback import FeedbackStore
from app.gateway.clock import Clock, SystemClock
from app.gateway.limits import Limiter, Limits, LimitSpec, RateLimiter
from app.gateway.scheduler import EmbeddingBatcher, FairScheduler
from app.gateway.service import Gateway
from app.gateway.store import GatewayStore, SqliteGatewayStore
from app.gateway.usage import Prices
from app.governance.abuse import AbuseMonitor, AbuseStore
from app.governance.abuse_signals import ClientAddresses
from app.governance.audit import SqliteAuditLog
from app.governance.config import response_of, retention_defaults, thresholds_of
from app.governance.purge import iso
from app.governance.retention import RetentionStore
from app.governance.service import Governance
from app.governance.tenant_data import TenantData
from app.metrics import Metrics
from app.migrate import migrate
from app.readiness import BackendCheck, check_backends
from app.rollout import RolloutFile
from app.serving.account import Account
from app.serving.answers import Answers
from app.serving.chat import Chat
from app.serving.conversations import ConversationTurns
from app.serving.documents import Documents
from app.serving.embeddings import Embeddings
from app.serving.feedback import Ratings
from app.serving.ingestion import Ingestion
from app.serving.library import Library
from app.serving.uploads import Uploads
from app.settings import Settings
from app.store_backends import check_shared_index, open_catalog, open_conversation_store, open_feedback_store
from generation.abstention import DEFAULT_MODEL, Abstainer, ChoiceScorer, load_model, trained_abstention
from generation.answer import AnswerPipeline, Retriever
from generation.answerability import is_model_folder, load_cross_encoder
from generation.chat import ChatPipeline
from generation.engines.llama_cpp import LlamaCppEngine
from generation.engines.protocol import Engine, GenerationParams
from generation.models import resolve_model_path
from generation.rewrite import QueryRewriter
from generation.safety.context import ContextFilter
from generation.safety.encoder import LlamaTextEncoder
from generation.safety.gate import SafetyGate
from generation.safety.input import InputFilter, SecondStage
from generation.safety.models import SafetyHeads, load_heads
from generation.safety.output import OutputFilter
from generation.safety.pii import PiiDetector, build_analyzer
from generation.safety.policy import parse_policy
from generation.safety.scanner import PassageScanner
from generation.safety.verdicts import VerdictStore
from ingest.checks import FileLimits
from ingest.job_store import JobRecords, JobStore, PostgresJobStore
from ingest.jobs import IngestJobs, JobHooks, JobQueue, JobRunner
from ingest.pipeline import IngestPipeline
from retrieval.catalog import Catalog
from retrieval.compress import ContextCompressor
from retrieval.embedders import Embedder, SentenceTransformerEmbedder, embedder_revision
from retrieval.embedding_cache import CachedEmbedder, EmbeddingCache, RecentEmbedder
from retrieval.index import ChunkIndex, StoreBackend
from retrieval.index_meta import EmbedderRecord, check_embedder, read_embedder, write_embedder
from retrieval.reindex import reindex
from retrieval.rerank import CrossEncoderReranker, Reranker
from retrieval.result_cache import VersionedCache
from retrieval.search import Fusion, HybridSearcher, SearchResult
from retrieval.stores.faiss_index import FaissParams
from retrieval.stores.faiss_store import FaissVectorStore
from retrieval.types import Document

FAISS_BACKEND = StoreBackend("faiss", FaissVectorStore, FaissVectorStore.load)

_log = logging.getLogger(__name__)


def store_backend(settings: Settings) -> StoreBackend:
    """The vector store the settings choose: FAISS files (the default), Qdrant, or pgvector."""
    if settings.vector_store == "qdrant":
        from retrieval.stores.qdrant_store import QdrantVectorStore, qdrant_client

        url, path = settings.qdrant_url, settings.qdrant_path or settings.data_dir / "qdrant"
        collection = settings.qdrant_collection
        return StoreBackend(
            "qdrant",
            lambda d: QdrantVectorStore(qdrant_client(url, None if url else path), d, collection),
        )
    if settings.vector_store == "pgvector":
        from retrieval.stores.pgvector_store import PgVectorStore

        dsn, table = settings.pg_dsn or "", settings.pg_table
        return StoreBackend("pgvector", lambda d: PgVectorStore(dsn, d, table))
    params = FaissParams(kind=settings.faiss_index, gpu=settings.faiss_gpu)
    return StoreBackend("faiss", lambda d: FaissVectorStore(d, params), FaissVectorStore.load)


def gateway_store(settings: Settings) -> GatewayStore:
    """Keys, credits and the usage ledger: in PostgreSQL when VERITY_DATABASE_URL is set (several
    processes share it), else in DATA_DIR/gateway.sqlite3. Its schema is migrated as it opens."""
    if settings.database_url:
        from app.gateway.store_postgres import PostgresGatewayStore

        return PostgresGatewayStore(settings.database_url)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    return SqliteGatewayStore(settings.gateway_path)


def limits_of(settings: Settings) -> Limits:
    """The rate limits per key and per tenant the settings give."""
    s = settings
    return Limits(
        LimitSpec(s.key_rpm, s.key_tpm, s.key_streams),
        LimitSpec(s.tenant_rpm, s.tenant_tpm, s.tenant_streams),
    )


def rate_limiter(settings: Settings, clock: Clock) -> Limiter:
    """Rate limits and stream slots: in Redis when VERITY_REDIS_URL is set (shared by every process),
    else kept in this process."""
    s = settings
    limits = limits_of(s)
    per_key, per_tenant = limits.per_key, limits.per_tenant
    if s.redis_url:
        from app.gateway.limits_redis import RedisRateLimiter, connect

        return RedisRateLimiter(connect(s.redis_url), clock, per_key, per_tenant)
    return RateLimiter(clock, per_key, per_tenant)


def offline_environment() -> None:
    """Keep libraries from reaching for the network: no hub downloads, no telemetry."""
    for name, value in {
        "HF_HUB_OFFLINE": "1",
        "DO_NOT_TRACK": "1",
        "TOKENIZERS_PARALLELISM": "false",
    }.items():
        os.environ.setdefault(name, value)


def fusion_of(settings: Settings) -> Fusion:
    """The search fusion the settings describe."""
    return Fusion(
        method=settings.fusion,
        bm25_weight=settings.fusion_bm25_weight,
        dense_weight=1.0 - settings.fusion_bm25_weight,
        normalization=settings.fusion_normalization,
        rrf_k=settings.rrf_k,
        document_boost=settings.document_boost,
    )


class Container:
    """The application's objects, built from `Settings` on first use and kept; the server builds all at
    start-up. A plain builder: no request logic lives here (that is `app/serving`).

    Tests and embedders of Verity pass their own parts in: `embedder` and `engine` (models loaded once
    and shared), `retriever` (what answers search with; default the hybrid searcher) and `clock` (the
    gateway's time). Everything else is built from the settings.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        embedder: Embedder | None = None,
        engine: Engine | None = None,
        retriever: Retriever | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.settings = settings
        self._embedder, self._engine, self._retriever = embedder, engine, retriever
        self._clock: Clock = clock or SystemClock()

    def _built(self, name: str) -> bool:
        """Whether the part `name` has been built (so closing never builds one)."""
        return name in vars(self)

    @functools.cached_property
    def embedder(self) -> Embedder:
        """The embedding model."""
        if self._embedder is not None:
            return self._embedder
        offline_environment()
        return SentenceTransformerEmbedder(self.settings.embedding_model, self.settings.embedding_batch_size)

    @functools.cached_property
    def catalog(self) -> Catalog:
        """The catalog: PostgreSQL when VERITY_DATABASE_URL is set, else SQLite in the data directory."""
        return open_catalog(self.settings)

    @functools.cached_property
    def index(self) -> ChunkIndex:
        """Catalog, vector store and BM25 kept in step (opened with the recorded vector dimension, so
        maintenance such as deleting documents loads no model). A shared catalog with a vector index of
        one machine (FAISS, embedded Qdrant) is refused: `SharedIndexUnsupported`."""
        check_shared_index(self.settings)
        backend = store_backend(self.settings)
        recorded = read_embedder(self.catalog)
        dimension = recorded.dimension if recorded is not None else self.embedder.dimension
        return ChunkIndex(self.settings.index_dir, self.catalog, backend, dimension)

    @functools.cached_property
    def embedder_record(self) -> EmbedderRecord:
        """The configured embedding model: name, revision (a digest of its files) and dimension."""
        e = self.embedder
        return EmbedderRecord(e.name, embedder_revision(e), e.dimension)

    def checked_index(self) -> ChunkIndex:
        """The index, once its vectors are known to come from the configured embedder (`IndexMismatch`
        naming `verity reindex` otherwise); the embedder is recorded the first time."""
        check_shared_index(self.settings)
        recorded = read_embedder(self.catalog)
        check_embedder(recorded, self.embedder_record)
        if recorded is None:
            write_embedder(self.catalog, self.embedder_record)
        return self.index

    def reindex(self, on_progress: Callable[[int, int], None] | None = None) -> int:
        """Re-embed every chunk of the catalog with the configured embedder (`retrieval.reindex`)."""
        return reindex(self.index, self.ingest_embedder, self.embedder_record, on_progress)

    @functools.cached_property
    def reranker(self) -> Reranker | None:
        """The cross-encoder, when one is configured."""
        if not self.settings.reranker_model:
            return None
        offline_environment()
        if is_model_folder(self.settings.reranker_model):
            return load_cross_encoder(Path(self.settings.reranker_model))
        return CrossEncoderReranker(self.settings.reranker_model)

    @functools.cached_property
    def searcher(self) -> HybridSearcher:
        """Hybrid search over the index."""
        s = self.settings
        cache = VersionedCache[SearchResult](s.search_cache_size) if s.search_cache_size else None
        return HybridSearcher(
            self.checked_index(),
            self.query_embedder,
            self.reranker,
            s.candidates,
            s.rerank_depth,
            fusion_of(s),
            cache,
        )

    @functools.cached_property
    def ingest_pipeline(self) -> IngestPipeline:
        """Files into the index."""
        limits = FileLimits(max_file_bytes=self.settings.max_upload_mb << 20)
        return IngestPipeline(
            self.checked_index(),
            self.ingest_embedder,
            chunk_tokens=self.settings.chunk_tokens,
            limits=limits,
            chunk_overlap=self.settings.chunk_overlap,
            scan_chunks=self.safety_scanner.scan if self._scans_at_ingest() else None,
        )

    @functools.cached_property
    def query_embedder(self) -> Embedder:
        """The embedder for questions: recent vectors kept, so the safety filter and retrieval share one."""
        return RecentEmbedder(self.embedder)

    @functools.cached_property
    def ingest_embedder(self) -> CachedEmbedder:
        """The embedder ingestion uses: vectors cached by chunk text and model, so re-ingesting is cheap."""
        record = self.embedder_record
        return CachedEmbedder(self.embedder, self.embedding_cache, f"{record.name}@{record.revision}")

    @functools.cached_property
    def embedding_cache(self) -> EmbeddingCache:
        """Vectors by chunk text and model, beside the catalog."""
        self.settings.data_dir.mkdir(parents=True, exist_ok=True)
        return EmbeddingCache(self.settings.data_dir / "embeddings.sqlite3")

    def delete_documents(self, tenant: str, document_ids: Sequence[str]) -> list[Document]:
        """Delete documents from the catalog, vectors and BM25, then from the embedding cache (no model is
        loaded)."""
        return self.documents.delete(tenant, document_ids)

    @functools.cached_property
    def documents(self) -> Documents:
        """Deleting documents from the index and the embedding cache."""
        return Documents(self.index, self.catalog, self.embedding_cache, self.conversations.forget_documents)

    @functools.cached_property
    def uploads(self) -> Uploads:
        """Uploaded files: received under the size limit (VERITY_MAX_UPLOAD_MB), kept once ingested."""
        return Uploads(self.settings.uploads_dir, self.settings.max_upload_mb << 20)

    @functools.cached_property
    def ingestion(self) -> Ingestion:
        """Uploads into the index, now or as background jobs (the serving layer's ingestion use case)."""
        return Ingestion(self.uploads, self.ingest_pipeline, self.jobs)

    @functools.cached_property
    def library(self) -> Library:
        """The caller's documents, collections and passages (no model is loaded)."""
        return Library(self.catalog, self.documents, self.uploads)

    @functools.cached_property
    def engine(self) -> Engine:
        """The llama.cpp model, loaded once."""
        if self._engine is not None:
            return self._engine
        if self.remote_engines is not None:
            return self.remote_engines.engine
        s = self.settings
        path = resolve_model_path(s.llm_model, s.model_cache_dir)
        return LlamaCppEngine(path, s.llm_context_window, s.llm_threads, s.llm_gpu_layers)

    @functools.cached_property
    def rollout(self) -> RolloutFile:
        """Drained replicas and the canary's decision, shared with other gateways and the CLI."""
        return RolloutFile(self.settings.rollout_path, self.settings.canary_model)

    @functools.cached_property
    def remote_engines(self) -> RemoteEngines | None:
        """The engine replicas (and canary) of VERITY_ENGINE_URLS; None for the in-process model."""
        if not self.settings.engine_urls or self._engine is not None:
            return None
        return build_remote_engines(self.settings, self.rollout)

    @functools.cached_property
    def metrics(self) -> Metrics:
        """The Prometheus metrics /metrics serves."""
        metrics = Metrics()
        metrics.watch_queue(lambda: self.gateway.scheduler.depth)
        if self.remote_engines is not None:
            metrics.watch_engines(self.remote_engines.pools(), self.remote_engines.canary)
        return metrics

    @functools.cached_property
    def answers(self) -> AnswerPipeline:
        """The one answer pipeline every surface renders."""
        return AnswerPipeline(
            self._retriever or self.searcher,
            self.engine,
            self.settings.context_budget_tokens,
            self.generation_params,
            self.abstainer,
            safety=self.safety_gate,
            history_budget_tokens=self.settings.history_budget_tokens,
            compressor=self.compressor,
        )

    @functools.cached_property
    def compressor(self) -> ContextCompressor | None:
        """Context compression before packing; None when the setting turns it off."""
        if not self.settings.context_compression:
            return None
        return ContextCompressor(self.embedder, neighbours=self.settings.compression_neighbours)

    @functools.cached_property
    def rewriter(self) -> QueryRewriter:
        """Makes follow-up questions standalone for search."""
        return QueryRewriter(self.engine)

    @functools.cached_property
    def conversation_store(self) -> ConversationStore:
        """Where conversations are kept (PostgreSQL with VERITY_DATABASE_URL, else SQLite)."""
        return open_conversation_store(self.settings)

    @functools.cached_property
    def conversations(self) -> Conversations:
        """Conversations per tenant; their citations are checked against the catalog."""
        catalog = self.catalog

        def title(tenant: str, document_id: str) -> str | None:
            document = catalog.get_document(tenant, document_id)
            return None if document is None else document.title

        return Conversations(self.conversation_store, title, lambda: iso(self._clock.now()))

    @functools.cached_property
    def conversation_turns(self) -> ConversationTurns:
        """The next turn of a conversation, answered through the answers use case."""
        return ConversationTurns(self.conversations, self.answer_service, self.rewriter, self.gateway)

    @functools.cached_property
    def safety_heads(self) -> SafetyHeads:
        """The trained safety classifiers shipped in the package."""
        return load_heads()

    @functools.cached_property
    def safety_input_filter(self) -> InputFilter:
        """Injection and harmful-request detection on questions."""
        heads = self.safety_heads
        return InputFilter(heads.injection, heads.harm, self.query_embedder, self.safety_second_stage)

    @functools.cached_property
    def safety_second_stage(self) -> SecondStage | None:
        """The LLM-read second stage of the input heads; None when VERITY_SAFETY_ENCODER is empty or no
        second stage was trained."""
        escalations = self.safety_heads.escalations
        if not self.settings.safety_encoder or not escalations:
            return None
        return SecondStage(self.safety_encoder, escalations)

    @functools.cached_property
    def safety_encoder(self) -> LlamaTextEncoder:
        """The LLM the input filter's second stage reads unsure questions with (loaded once, one thread)."""
        path = resolve_model_path(self.settings.safety_encoder, self.settings.model_cache_dir)
        return LlamaTextEncoder(path)

    @functools.cached_property
    def safety_context_filter(self) -> ContextFilter:
        """Planted-instruction detection on retrieved passages."""
        return ContextFilter(self.safety_heads.context_injection, self.embedder)

    @functools.cached_property
    def safety_gate(self) -> SafetyGate | None:
        """All safety filters under the configured policy; None when VERITY_SAFETY=off."""
        if self.settings.safety == "off":
            return None
        return SafetyGate(
            self.safety_input_filter,
            self.safety_context_filter,
            self.safety_output_filter,
            self.safety_pii,
            parse_policy(self.settings.safety_policy),
            scanner=self.safety_scanner,
        )

    @functools.cached_property
    def safety_output_filter(self) -> OutputFilter:
        """Harm in answers, and answers that follow planted instructions."""
        return OutputFilter(self.safety_heads.harm, self.embedder, self.safety_heads.harm_screen)

    @functools.cached_property
    def safety_pii(self) -> PiiDetector:
        """PII detection (presidio on the offline spaCy model, checksums for cards and IBANs)."""
        return PiiDetector(build_analyzer())

    def _scans_at_ingest(self) -> bool:
        return self.settings.safety == "on" and self.settings.safety_scan_at_ingest

    @functools.cached_property
    def safety_scanner(self) -> PassageScanner:
        """Context-filter scans of chunks, made at ingest and kept beside the catalog for query time."""
        verdicts = VerdictStore(self.settings.data_dir / "safety_verdicts.sqlite3")
        return PassageScanner(self.safety_context_filter, verdicts)

    @functools.cached_property
    def abstainer(self) -> Abstainer | None:
        """The calibrated abstainer; None when switched off, or when its model needs the engine's
        answerability check and the engine cannot score (then the model answers every question)."""
        s = self.settings
        if not s.abstention:
            return None
        model = load_model(s.abstention_model) if s.abstention_model else DEFAULT_MODEL
        trained = None if s.abstention_model else trained_abstention(s.answerability_model_dir)
        if trained is not None:
            model = trained[0]
        elif not s.abstention_model:
            _log.info(
                "no trained answerability model at %s: abstention uses the engine's check",
                s.answerability_model_dir,
            )
        scorer = self.engine if isinstance(self.engine, ChoiceScorer) and model.needs_support() else None
        if model.needs_support() and scorer is None:
            return None
        return Abstainer(model, scorer, trained[1] if trained is not None else None)

    @functools.cached_property
    def job_store(self) -> JobRecords:
        """Ingest job records: in PostgreSQL when `database_url` is set, else SQLite beside the catalog."""
        if self.settings.database_url:
            return PostgresJobStore(self.settings.database_url)
        return JobStore(self.settings.data_dir / "jobs.sqlite3")

    @functools.cached_property
    def job_hooks(self) -> JobHooks:
        """Keep each ingested upload, remove a job's incoming folder when it ends; count ingest metrics."""
        return self.metrics.job_hooks(kept_uploads.job_hooks(self.settings.uploads_dir))

    @functools.cached_property
    def jobs(self) -> JobQueue:
        """Background ingest jobs: run by `verity worker` processes when `database_url` is set, else on a
        thread of this process; uploads kept by name are moved first."""
        kept_uploads.migrate_legacy(self.settings.uploads_dir, self.catalog.all_documents())
        if self.settings.database_url:
            from ingest.workers import QueuedJobs

            return QueuedJobs(self.job_store, self.settings.database_url)
        return IngestJobs(self.ingest_pipeline, self.job_store, self.job_hooks)

    @functools.cached_property
    def job_runner(self) -> JobRunner:
        """What a `verity worker` runs each ingest job with."""
        return JobRunner(self.ingest_pipeline, self.job_store, self.job_hooks)

    @functools.cached_property
    def generation_params(self) -> GenerationParams:
        """Sampling defaults from the settings."""
        return GenerationParams(
            max_tokens=self.settings.max_answer_tokens, temperature=self.settings.temperature
        )

    @functools.cached_property
    def chat(self) -> ChatPipeline:
        """Plain chat with the engine, for the engine's own model name."""
        return ChatPipeline(self.engine, self.generation_params)

    @functools.cached_property
    def answer_service(self) -> Answers:
        """Grounded answers, admitted, scheduled and settled (the serving layer's answers use case)."""
        return Answers(self.gateway, self.answers, self.engine.name, self.settings.top_k)

    @functools.cached_property
    def chat_service(self) -> Chat:
        """Plain chat with the engine, admitted, scheduled and settled."""
        return Chat(self.gateway, self.chat, self.engine)

    @functools.cached_property
    def embedding_service(self) -> Embeddings:
        """Embeddings for callers, metered; concurrent calls batched into one model call."""
        return Embeddings(self.gateway, self.embedder, self.embedding_batcher)

    @functools.cached_property
    def gateway(self) -> Gateway:
        """Keys, limits, credits, the usage ledger and the engine's fair queue."""
        s = self.settings
        capacity = s.engine_slots * len(s.engine_urls) if self.remote_engines is not None else 1
        scheduler = FairScheduler(
            capacity, s.queue_depth, s.queue_deadline_s, s.tenant_weights, s.tenant_tiers
        )
        prices = Prices(s.model_prices)
        store, limiter = gateway_store(s), rate_limiter(s, self._clock)
        admin_key = s.admin_key.get_secret_value() if s.admin_key is not None else None
        gateway = Gateway(
            store, self._clock, limiter, scheduler, prices, s.auth, s.credits_required, admin_key
        )
        gateway.observers.append(self.metrics.observe_settled)
        gateway.observers.append(lambda settled: self.abuse.saw_settled(settled))  # built on first use
        return gateway

    @functools.cached_property
    def account(self) -> Account:
        """The caller's usage, credits and limits (the serving layer's account use case)."""
        return Account(self.gateway, limits_of(self.settings))

    @functools.cached_property
    def embedding_batcher(self) -> EmbeddingBatcher:
        """Concurrent /v1/embeddings calls gathered into one model call."""
        return EmbeddingBatcher(self.embedder.embed, self.settings.embedding_batch_window_ms / 1000)

    @functools.cached_property
    def feedback(self) -> FeedbackStore:
        """Ratings of answers, per tenant (PostgreSQL with VERITY_DATABASE_URL, else SQLite)."""
        return open_feedback_store(self.settings)

    @functools.cached_property
    def audit(self) -> SqliteAuditLog:
        """The audit trail (hash-chained), in the governance file."""
        self.settings.data_dir.mkdir(parents=True, exist_ok=True)
        return SqliteAuditLog(self.settings.governance_path, self._clock)

    @functools.cached_property
    def abuse(self) -> AbuseMonitor:
        """Abuse signals over requests and the ledger, and the flags they raise."""
        store = AbuseStore(self.settings.governance_path)
        s = self.settings
        return AbuseMonitor(
            store, self.gateway.store, self.audit, self._clock, thresholds_of(s), response_of(s)
        )

    @functools.cached_property
    def client_addresses(self) -> ClientAddresses:
        """Client addresses of requests, through the proxies named in VERITY_TRUSTED_PROXIES."""
        return ClientAddresses(self.settings.trusted_proxies)

    @functools.cached_property
    def governance(self) -> Governance:
        """Purges, erasure, retention settings and the abuse monitor over every store of tenants' data."""
        data = TenantData(
            self.catalog, lambda: self.documents, self.settings.uploads_dir, self.job_store,
            self.conversation_store, self.feedback, self.gateway.store,
            RetentionStore(self.settings.governance_path, retention_defaults(self.settings)), self.audit,
        )  # fmt: skip
        return Governance(data, self.abuse, self._clock)

    @functools.cached_property
    def ratings(self) -> Ratings:
        """Ratings of answers, checked against stored conversations (the serving layer's feedback use
        case)."""
        return Ratings(self.feedback, self.conversations, self._clock.now)

    def backend_checks(self) -> list[BackendCheck]:
        """Whether each configured backend (database, Redis, vector store) answers now (`/readyz`)."""
        return check_backends(self.settings)

    def warm_up(self) -> None:
        """Apply every pending schema migration and build everything now, so no request pays for loading
        a model; a shared catalog with a vector index of one machine is refused first."""
        check_shared_index(self.settings)
        migrate(self.settings)  # every store's schema, including those opened only on first use
        _ = self.answers, self.chat, self.jobs, self.gateway

    def close(self) -> None:
        """Finish queued ingest jobs, then release the databases."""
        if self._built("jobs"):
            self.jobs.close()
        if self._built("job_store"):
            self.job_store.close()
        if self._built("index"):
            self.index.close()
        if self._built("embedding_cache"):
            self.embedding_cache.close()
        if self._built("safety_scanner"):
            self.safety_scanner.close()
        if self._built("catalog"):
            self.catalog.close()
        if self._built("gateway"):
            self.gateway.store.close()
            self.gateway.limiter.close()
        if self._built("conversation_store"):
            self.conversation_store.close()
        if "feedback" in self.__dict__:
            self.feedback.close()
        if self._built("governance"):
            self.governance.data.retention.close()
        if self._built("abuse"):
            self.abuse.store.close()
        if self._built("audit"):
            self.audit.close()
        if self._built("remote_engines") and self.remote_engines is not None:
            self.remote_engines.close()
