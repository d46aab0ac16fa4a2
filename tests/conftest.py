"""Shared fixtures: real models are loaded once per session; shared data is read from ../shared/data."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
# No test reads or writes the user's data directory: tests that need one pass their own.
os.environ.setdefault("VERITY_DATA_DIR", tempfile.mkdtemp(prefix="verity-tests-"))

from app.settings import Settings
from generation.engines.llama_cpp import LlamaCppEngine
from generation.models import QWEN_1_5B, resolve_model_path
from retrieval.embedders import SentenceTransformerEmbedder

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"
TEST_MODEL = QWEN_1_5B.name


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The shared evaluation sets beside the repository."""
    if not SHARED_DATA.is_dir():
        pytest.fail(f"shared data not found at {SHARED_DATA}: tests read ../shared/data")
    return SHARED_DATA


@pytest.fixture(scope="session")
def docs_mixed(shared_data: Path) -> Path:
    """The 21 real files of docs_mixed/sources."""
    return shared_data / "docs_mixed" / "sources"


@pytest.fixture(scope="session")
def embedder() -> SentenceTransformerEmbedder:
    """The real packaged all-MiniLM-L6-v2, loaded once."""
    return SentenceTransformerEmbedder()


@pytest.fixture(scope="session")
def model_cache() -> Path:
    """Where packaged GGUF models are assembled (the user's cache, shared with `make run`)."""
    return Settings().model_cache_dir


@pytest.fixture(scope="session")
def engine(model_cache: Path) -> Iterator[LlamaCppEngine]:
    """The real llama.cpp engine with the default packaged Qwen2.5-Coder-1.5B-Instruct, loaded once."""
    yield LlamaCppEngine(resolve_model_path(TEST_MODEL, model_cache), context_window=4096, threads=2)
