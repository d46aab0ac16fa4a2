"""Hostile names through real HTTP: no name a client gives becomes a path.

A property-based test (hypothesis) throws arbitrary collection and file names (dot segments, both
separators, absolute paths, percent-encodings, NUL and other control characters, 1,000-character and
non-ASCII names) at upload, job, list and delete on a real uvicorn server with two tenants. After every
example: nothing outside the data directory was written or removed, the other tenant's stored files
are byte-identical and its documents all listed, every file under the uploads folder sits on a path
made of server-made keys, and every answer was a 2xx or a 4xx.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from app.container import Container
from app.gateway.keys import Scopes, create_key
from app.safe_paths import name_key
from app.settings import Settings
from generation.engines.scripted import ScriptedEngine
from retrieval.embedders import HashingEmbedder
from tests.app.conftest import serve

NOTE = b"# Pond notes\n\nDucks eat grasses and small fish in the pond.\n"
LAYOUT = re.compile(
    r"(incoming/[0-9a-f]{32}/\d+(\.[a-z0-9]{1,10})?"
    r"|[0-9a-f]{32}/[0-9a-f]{32}/doc_[0-9a-f]{16}(\.[a-z0-9]{1,10})?)"
)


@dataclass
class World:
    """A served app with an attacker and a victim tenant, and a sentinel folder beside the data."""

    url: str
    root: Path
    data_dir: Path
    outside: Path
    attacker: dict[str, str]
    victim: dict[str, str]
    victim_documents: set[str]


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def tree(root: Path) -> dict[str, bytes]:
    """Every file under `root` with its bytes, by relative path (symlinks as their target)."""
    found: dict[str, bytes] = {}
    for path in sorted(root.rglob("*")):
        if path.is_symlink():
            found[str(path.relative_to(root))] = str(path.readlink()).encode()
        elif path.is_file():
            found[str(path.relative_to(root))] = path.read_bytes()
    return found


def outside_data(world: World) -> dict[str, bytes]:
    everything = tree(world.root)
    data = str(world.data_dir.relative_to(world.root))
    # SQLite's WAL and journal files live beside the databases in the data dir; all else is outside
    return {k: v for k, v in everything.items() if not (k == data or k.startswith(data + "/"))}


def victim_files(world: World) -> dict[str, bytes]:
    return tree(world.data_dir / "uploads" / name_key("victim"))


def wait_for_jobs(client: httpx.Client, key: str) -> None:
    deadline = time.monotonic() + 60
    while any(j["finished_at"] is None for j in client.get("/v1/jobs", headers=bearer(key)).json()["data"]):
        assert time.monotonic() < deadline, "a job did not finish"
        time.sleep(0.02)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    root = tmp_path_factory.mktemp("hostile")
    data_dir, outside = root / "data", root / "outside"
    outside.mkdir()
    (outside / "alpha").mkdir()
    (outside / "alpha" / "sentinel.md").write_bytes(b"# Sentinel\n\nmust never change\n")
    (outside / "keep.txt").write_bytes(b"must never be removed\n")
    settings = Settings(data_dir=data_dir, safety="off", abstention=False, max_upload_mb=1)
    container = Container(settings, embedder=HashingEmbedder(), engine=ScriptedEngine(lambda _: "Quack [1]."))
    gateway = container.gateway
    attacker, _ = create_key(gateway.store, gateway.clock, "mallory", Scopes())
    victim, _ = create_key(gateway.store, gateway.clock, "victim", Scopes())
    server = serve(container)
    url = next(server)
    with httpx.Client(base_url=url, timeout=60) as client:
        files = {"file": ("notes.md", NOTE, "text/markdown")}
        for collection in ("alpha", "shared"):
            done = client.post(
                "/v1/documents", files=files, data={"collection": collection}, headers=bearer(victim)
            )
            assert done.status_code == 200, done.text
        job = client.post("/v1/jobs", files=files, data={"collection": "jobs"}, headers=bearer(victim))
        assert job.status_code == 202, job.text
        wait_for_jobs(client, victim)
        listed = client.get("/v1/documents", headers=bearer(victim)).json()["data"]
    assert len(listed) == 3
    yield World(url, root, data_dir, outside, bearer(attacker), bearer(victim), {d["id"] for d in listed})
    server.close()
    container.close()


ATOMS = [
    "..", ".", "/", "\\", "../", "..\\", "%2e%2e", "%2f", "%2F", "%5c", "%00", "%252e", "\x00", "\n", "\r",
    "\t", "\x1b", "\x7f", "\u202e", "\ufeff", "é", "日本", "alpha", "shared", "victim", "mallory", "~", ":",
    "C:", "//", " ", "notes.md", "uploads", "incoming", ".incoming", name_key("victim"), name_key("alpha"),
]  # fmt: skip


def hostile_names(outside: str) -> st.SearchStrategy[str]:
    """Names built from path syntax, encodings and control characters; long and non-ASCII ones."""
    absolute = [outside, f"{outside}/alpha", f"{outside}/alpha/sentinel.md", f"{outside}/keep.txt", "/"]
    return st.one_of(
        st.lists(st.sampled_from(ATOMS + absolute), min_size=1, max_size=6).map("".join),
        st.text(max_size=30),
        st.sampled_from(["a" * 1000, "é" * 1000, "../" * 334, "x" * 65, "%2e%2e%2f" * 100]),
        st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._-]{0,20}", fullmatch=True),
    )


def probe(client: httpx.Client, world: World, collection: str, filename: str) -> list[httpx.Response]:
    """Upload, submit a job, list, read and delete under one hostile collection and file name."""
    files = {"file": (filename, NOTE, "text/markdown")}
    form = {"collection": collection}
    who = world.attacker
    answers = [
        client.post("/v1/documents", files=files, data=form, headers=who),
        client.post("/v1/jobs", files=files, data=form, headers=who),
    ]
    wait_for_jobs(client, world.attacker["Authorization"].removeprefix("Bearer "))
    in_path = quote(collection, safe="")
    answers += [
        client.get("/v1/documents", params={"collection": collection}, headers=who),
        client.get(f"/v1/collections/{in_path}", headers=who),
        client.delete(f"/v1/collections/{in_path}", headers=who),
        client.delete(f"/v1/documents/{in_path}", headers=who),
    ]
    return answers


def check_world(world: World, before_outside: dict[str, bytes], before_victim: dict[str, bytes]) -> None:
    assert outside_data(world) == before_outside, "something outside the data directory changed"
    assert victim_files(world) == before_victim, "the other tenant's stored files changed"
    uploads = world.data_dir / "uploads"
    stray = [p for p in tree(uploads) if not LAYOUT.fullmatch(p)]
    assert stray == [], f"files on paths not made of server-made keys: {stray}"
    assert not any((uploads / "incoming").glob("*/*")), "incoming files left after their requests"


def test_hostile_names_touch_nothing_outside_their_own_tenant(world: World) -> None:
    before_outside, before_victim = outside_data(world), victim_files(world)
    assert len(before_victim) == 3, "the victim's three uploads are kept"

    @settings(
        max_examples=40,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    )
    @given(collection=hostile_names(str(world.outside)), filename=hostile_names(str(world.outside)))
    @example(collection="../victim/alpha", filename="notes.md")
    @example(collection=f"../{name_key('victim')}/{name_key('alpha')}", filename="notes.md")
    @example(collection=str(world.outside / "alpha"), filename="sentinel.md")
    @example(collection="..", filename="notes.md")
    @example(collection="alpha\x00", filename="notes.md")
    @example(collection="alpha", filename="../../../outside/keep.txt")
    @example(collection="alpha", filename="a" * 300 + ".md")
    def hostile(collection: str, filename: str) -> None:
        with httpx.Client(base_url=world.url, timeout=60) as client:
            answers = probe(client, world, collection, filename)
            statuses = [r.status_code for r in answers]
            assert all(200 <= s < 500 for s in statuses), (collection, filename, statuses, answers[-1].text)
            listed = client.get("/v1/documents", headers=world.victim).json()["data"]
        assert {d["id"] for d in listed} == world.victim_documents, "the other tenant lost a document"
        check_world(world, before_outside, before_victim)

    hostile()


def test_a_collection_name_with_a_nul_byte_is_refused_and_nothing_is_stored(world: World) -> None:
    with httpx.Client(base_url=world.url, timeout=60) as client:
        before = client.get("/v1/documents", headers=world.attacker).json()["data"]
        files = {"file": ("nul.md", NOTE, "text/markdown")}
        for path in ("/v1/documents", "/v1/jobs"):
            answer = client.post(path, files=files, data={"collection": "a\x00b"}, headers=world.attacker)
            assert answer.status_code == 400, answer.text
            error = answer.json()["error"]
            assert error["param"] == "collection" and "ASCII letters, digits" in error["message"]
        assert client.get("/v1/documents", headers=world.attacker).json()["data"] == before
        jobs = client.get("/v1/jobs", headers=world.attacker).json()["data"]
        assert all(j["collection"] != "a\x00b" for j in jobs)


def test_a_file_name_over_255_bytes_is_a_400_quoting_the_rule(world: World) -> None:
    with httpx.Client(base_url=world.url, timeout=60) as client:
        files = {"file": ("é" * 128 + ".md", NOTE, "text/markdown")}  # 261 bytes in UTF-8
        answer = client.post(
            "/v1/documents", files=files, data={"collection": "long"}, headers=world.attacker
        )
        assert answer.status_code == 400, answer.text
        assert "1 to 255 bytes" in answer.json()["error"]["message"]
        fits = {"file": ("é" * 125 + ".md", NOTE, "text/markdown")}  # 253 bytes
        answer = client.post("/v1/documents", files=fits, data={"collection": "long"}, headers=world.attacker)
        assert answer.status_code == 200, answer.text
        assert answer.json()["data"][0]["source"] == "é" * 125 + ".md", "the name is kept as data"
