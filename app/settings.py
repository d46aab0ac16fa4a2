"""Verity's settings: one object, read from `VERITY_*` environment variables (and nowhere else)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


def default_threads() -> int:
    """Half the cores, at least one: llama.cpp slows sharply when its threads compete for cores."""
    return max(1, (os.cpu_count() or 2) // 2)


class Settings(BaseSettings):
    """Everything configurable. Every model is a setting: a local path, a packaged name or a hub name."""

    model_config = SettingsConfigDict(env_prefix="VERITY_", extra="ignore")

    data_dir: Path = Field(Path(".verity"), description="where the catalog, indexes and uploads live")
    model_cache_dir: Path = Field(
        Path("~/.cache/verity/models").expanduser(), description="where packaged GGUF models are assembled"
    )
    embedding_model: str = "all-MiniLM-L6-v2"
    embedding_batch_size: int = Field(32, ge=1)
    llm_model: str = Field(
        "qwen2.5-coder-1.5b-instruct-q4_k_m", description="a GGUF path or a packaged model name"
    )
    llm_threads: int = Field(default_factory=default_threads, ge=1)
    llm_context_window: int = Field(4096, ge=512)
    llm_gpu_layers: int = Field(0, description="layers offloaded to the GPU (-1: all); needs a CUDA build")
    max_answer_tokens: int = Field(384, ge=1)
    temperature: float = Field(0.1, ge=0.0, le=2.0)
    context_budget_tokens: int = Field(2048, ge=64)
    top_k: int = Field(5, ge=1, le=50)
    candidates: int = Field(200, ge=1, description="candidates each retriever contributes before fusion")
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

    @property
    def catalog_path(self) -> Path:
        """The SQLite catalog file."""
        return self.data_dir / "catalog.sqlite3"

    @property
    def index_dir(self) -> Path:
        """Where vector index versions are written."""
        return self.data_dir / "index"

    @property
    def uploads_dir(self) -> Path:
        """Where uploaded files are kept."""
        return self.data_dir / "uploads"
