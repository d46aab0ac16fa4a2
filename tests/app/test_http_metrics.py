"""`/metrics`, request ids and JSON logs through the ASGI app (scripted engine, hashing embedder)."""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from app.container import Container
from app.gateway.usage import Settled
from app.http.main import create_app
from app.http.request_ids import request_id
from app.logs import JsonFormatter
from app.metrics import Metrics
from app.settings import Settings
from generation.engines.scripted import ScriptedEngine
from retrieval.embedders import HashingEmbedder


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    settings = Settings(data_dir=tmp_path, safety="off", abstention=False)
    container = Container(settings, embedder=HashingEmbedder(), engine=ScriptedEngine(lambda _: "Quack [1]."))
    with TestClient(create_app(container)) as test_client:
        yield test_client
    container.close()


def samples(client: TestClient) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    reply = client.get("/metrics")
    assert reply.status_code == 200 and reply.headers["content-type"].startswith("text/plain")
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(reply.text)
        for s in family.samples
    }


def value(found: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str) -> float:
    return found.get((name, frozenset(labels.items())), 0.0)


def test_every_response_carries_a_request_id_and_a_well_formed_one_is_kept(client: TestClient) -> None:
    made = client.get("/v1/models").headers["x-request-id"]
    assert made.startswith("req_") and len(made) == 36
    assert client.get("/v1/models", headers={"X-Request-Id": "trace-42.a:b"}).headers["x-request-id"] == (
        "trace-42.a:b"
    )
    for bad in ("has space", "x" * 200, "-leading-dash", "line\tbreak"):
        kept = client.get("/v1/models", headers={"X-Request-Id": bad}).headers["x-request-id"]
        assert kept != bad and kept.startswith("req_")
    missing = client.get("/v1/no-such-route")
    assert missing.status_code == 404 and missing.headers["x-request-id"].startswith("req_")


def test_metrics_count_requests_tokens_first_tokens_and_ingest_jobs(client: TestClient) -> None:
    job = client.post("/v1/jobs", files=[("file", ("ducks.md", b"# Ducks\n\nDucks eat snails.\n"))])
    assert job.status_code == 202, job.text
    deadline = time.monotonic() + 120
    while client.get(f"/v1/jobs/{job.json()['id']}").json()["finished_at"] is None:
        assert time.monotonic() < deadline
        time.sleep(0.1)
    assert client.post("/v1/answers", json={"question": "What do ducks eat?"}).status_code == 200
    found = samples(client)
    assert value(found, "verity_http_requests_total", route="/v1/answers", method="POST", status="200") == 1
    assert value(found, "verity_http_request_seconds_count", route="/v1/jobs/{job_id}", method="GET") >= 1
    assert value(found, "verity_requests_total", endpoint="answers", model="verity", status="200") == 1
    assert value(found, "verity_first_token_seconds_count", endpoint="answers", model="verity") == 1
    assert value(found, "verity_tokens_total", model="verity", kind="completion") > 0
    assert value(found, "verity_queue_wait_seconds_count") == 1
    assert value(found, "verity_queue_depth") == 0
    assert value(found, "verity_stage_seconds_count", endpoint="answers", stage="generate") == 1
    assert value(found, "verity_ingest_jobs_total", state="succeeded") == 1
    assert value(found, "verity_ingest_chunks_total") == 1
    assert value(found, "verity_ingest_files_total", outcome="added") == 1


def test_safety_decisions_abstentions_and_credits_are_counted() -> None:
    metrics = Metrics()
    flagged = ("input", "injection", "flagged", "block")
    metrics.observe_settled(Settled("answers", "verity", 200, 10, 0, 10, {}, (flagged,), abstained=True))
    text = {(s.name, tuple(sorted(s.labels.items()))): s.value for f in
            text_string_to_metric_families(_exposition(metrics)) for s in f.samples}  # fmt: skip
    labels = (("action", "block"), ("category", "injection"), ("decision", "flagged"), ("stage", "input"))
    assert text[("verity_safety_decisions_total", labels)] == 1
    assert text[("verity_abstentions_total", (("endpoint", "answers"),))] == 1
    assert text[("verity_credits_spent_total", (("model", "verity"),))] == 10


def _exposition(metrics: Metrics) -> str:
    from prometheus_client import generate_latest

    return generate_latest(metrics.registry).decode()


def test_json_log_lines_carry_the_request_id() -> None:
    record = logging.LogRecord("verity.access", logging.INFO, "", 0, "GET %s %d", ("/v1/models", 200), None)
    record.status = 200
    token = request_id.set("req_abc")
    try:
        line = json.loads(JsonFormatter().format(record))
    finally:
        request_id.reset(token)
    assert line["request_id"] == "req_abc" and line["message"] == "GET /v1/models 200"
    assert line["status"] == 200 and line["level"] == "info" and line["logger"] == "verity.access"


def test_unreachable_replicas_answer_503_with_retry_after_and_show_in_metrics_and_admin(
    tmp_path: Path,
) -> None:
    dead = "http://127.0.0.1:9"  # the discard port: nothing listens
    settings = Settings(
        data_dir=tmp_path, safety="off", abstention=False, engine_urls=[dead], engine_model="m",
        admin_key="admin-secret",  # type: ignore[arg-type]
    )  # fmt: skip
    container = Container(settings, embedder=HashingEmbedder())
    admin = {"Authorization": "Bearer admin-secret"}
    with TestClient(create_app(container)) as client:
        chat = client.post(
            "/v1/chat/completions", json={"model": "m", "messages": [{"role": "user", "content": "hi"}]}
        )
        assert chat.status_code == 503 and chat.headers["retry-after"] == "5", chat.text
        assert chat.json()["error"]["code"] == "engine_unavailable"
        listed = client.get("/admin/engines", headers=admin).json()
        assert listed["stable"][0]["url"] == dead and listed["stable"][0]["healthy"] is False
        assert client.post("/admin/engines/drain", json={"url": dead}, headers=admin).json() == {
            "drained": [dead]
        }
        unknown = client.post("/admin/engines/drain", json={"url": "http://x"}, headers=admin)
        assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "no_replica"
        assert client.get("/admin/engines", headers={"Authorization": "Bearer wrong"}).status_code == 401
        assert "/admin/engines/drain" in client.get("/admin/openapi.json", headers=admin).json()["paths"]
        found = samples(client)
        assert value(found, "verity_engine_replica_up", pool="stable", replica=dead) == 0
        assert value(found, "verity_engine_replica_drained", pool="stable", replica=dead) == 1
    container.close()
    assert container.rollout.drained() == {dead}


def test_the_grafana_dashboard_queries_only_metrics_verity_exports() -> None:
    dashboard = json.loads((Path(__file__).parents[2] / "deploy" / "grafana" / "verity.json").read_text())
    queried = {
        name
        for panel in dashboard["panels"]
        for target in panel["targets"]
        for name in re.findall(r"verity_[a-z0-9_]+", target["expr"])
    }
    metrics = Metrics()
    metrics.watch_queue(lambda: 0)
    exported = {m.name for m in metrics.registry.collect()}
    exported |= {
        f"verity_engine_replica_{k}" for k in ("up", "drained", "breaker_open", "in_flight", "requests")
    }
    exported |= {f"verity_canary_{k}" for k in ("share", "requests", "errors", "first_token_p95_seconds")}
    suffixes = ("_total", "_bucket", "_count", "_sum")
    unknown = {
        q for q in queried if q not in exported and not any(q.removesuffix(s) in exported for s in suffixes)
    }
    assert unknown == set() and len(queried) > 15
