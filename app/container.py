"""Builds every concrete object from `Settings`, once, and hands them down."""

from __future__ import annotations

import functools
import os

from app.settings import Settings
from generation.answer import AnswerPipeline
from generation.chat import ChatPipeline
from generation.engines.llama_cpp import LlamaCppEngine
from generation.engines.protocol import Engine, GenerationParams
from generation.models import resolve_model_path
from ingest.checks import FileLimits
from ingest.jobs import IngestJobs, JobStore
from ingest.pipeline import IngestPipeline
from retrieval.catalog import Catalog
from retrieval.embedders import Embedder, SentenceTransformerEmbedder
from retrieval.index import ChunkIndex, StoreBackend
from retrieval.rerank import CrossEncoderReranker, Reranker
from retrieval.search import Fusion, HybridSearcher
from retrieval.stores.faiss_store import FaissVectorStore

FAISS_BACKEND = StoreBackend("faiss", FaissVectorStore, FaissVectorStore.load)


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
    """The application's objects, each built on first use and kept; the server builds all at start-up."""

    def __init__(self, settings: Settings, embedder: Embedder | None = None, engine: Engine | None = None):
        self.settings = settings
        if embedder is not None:
            self.__dict__["embedder"] = embedder
        if engine is not None:
            self.__dict__["engine"] = engine

    @functools.cached_property
    def embedder(self) -> Embedder:
        """The embedding model."""
        offline_environment()
        return SentenceTransformerEmbedder(self.settings.embedding_model, self.settings.embedding_batch_size)

    @functools.cached_property
    def catalog(self) -> Catalog:
        """The SQLite catalog."""
        self.settings.data_dir.mkdir(parents=True, exist_ok=True)
        return Catalog(self.settings.catalog_path)

    @functools.cached_property
    def index(self) -> ChunkIndex:
        """Catalog, FAISS and BM25 kept in step."""
        return ChunkIndex(self.settings.index_dir, self.catalog, FAISS_BACKEND, self.embedder.dimension)

    @functools.cached_property
    def reranker(self) -> Reranker | None:
        """The cross-encoder, when one is configured."""
        if not self.settings.reranker_model:
            return None
        offline_environment()
        return CrossEncoderReranker(self.settings.reranker_model)

    @functools.cached_property
    def searcher(self) -> HybridSearcher:
        """Hybrid search over the index."""
        s = self.settings
        return HybridSearcher(
            self.index, self.embedder, self.reranker, s.candidates, s.rerank_depth, fusion_of(s)
        )

    @functools.cached_property
    def ingest_pipeline(self) -> IngestPipeline:
        """Files into the index."""
        limits = FileLimits(max_file_bytes=self.settings.max_upload_mb << 20)
        return IngestPipeline(
            self.index,
            self.embedder,
            chunk_tokens=self.settings.chunk_tokens,
            limits=limits,
            chunk_overlap=self.settings.chunk_overlap,
        )

    @functools.cached_property
    def engine(self) -> Engine:
        """The llama.cpp model, loaded once."""
        s = self.settings
        path = resolve_model_path(s.llm_model, s.model_cache_dir)
        return LlamaCppEngine(path, s.llm_context_window, s.llm_threads, s.llm_gpu_layers)

    @functools.cached_property
    def answers(self) -> AnswerPipeline:
        """The one answer pipeline every surface renders."""
        return AnswerPipeline(
            self.searcher, self.engine, self.settings.context_budget_tokens, self.generation_params
        )

    @functools.cached_property
    def jobs(self) -> IngestJobs:
        """Background ingest jobs, recorded beside the catalog."""
        return IngestJobs(self.ingest_pipeline, JobStore(self.settings.data_dir / "jobs.sqlite3"))

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

    def warm_up(self) -> None:
        """Build everything now, so no request pays for loading a model."""
        _ = self.answers, self.chat, self.jobs

    def close(self) -> None:
        """Finish queued ingest jobs, then release the databases."""
        if "jobs" in self.__dict__:
            self.jobs.close()
            self.jobs.store.close()
        if "catalog" in self.__dict__:
            self.catalog.close()
