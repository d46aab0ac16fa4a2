"""Feedback on answers through the HTTP API (per tenant), its export as an evaluation dataset, and the
tenant's account summary the chat UI's usage panel reads."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from app.cli import app as cli
from app.container import Container
from app.gateway.keys import Scopes, create_key
from app.http.main import create_app
from app.settings import Settings
from generation.engines.scripted import ScriptedEngine
from retrieval.embedders import HashingEmbedder

CITATION = {"number": 1, "source": "wiki.md", "text": "IBM was founded in 1911.", "page": None}


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[TestClient, Container, dict[str, dict[str, str]]]]:
    settings = Settings(data_dir=tmp_path / "data", safety="off", key_rpm=30)
    container = Container(settings, embedder=HashingEmbedder(), engine=ScriptedEngine(lambda _: "ok"))
    gateway = container.gateway
    keys = {t: create_key(gateway.store, gateway.clock, t, Scopes())[0] for t in ("acme", "globex")}
    headers = {t: {"Authorization": f"Bearer {k}"} for t, k in keys.items()}
    with TestClient(create_app(container)) as client:
        yield client, container, headers
    container.close()


def rating(rating: str, **extra: object) -> dict[str, object]:
    question, answer = "When was IBM founded?", "In 1911 [1]."
    return {"rating": rating, "question": question, "answer": answer, "citations": [CITATION], **extra}


def test_feedback_is_kept_per_tenant_and_a_second_rating_of_a_message_replaces_the_first(
    served: tuple[TestClient, Container, dict[str, dict[str, str]]],
) -> None:
    client, container, headers = served
    first = client.post("/v1/feedback", json=rating("up", message_id="msg_1"), headers=headers["acme"])
    assert first.status_code == 201 and first.json()["object"] == "feedback"
    again = rating("down", message_id="msg_1", comment="wrong year")
    assert client.post("/v1/feedback", json=again, headers=headers["acme"]).status_code == 201
    other = client.post("/v1/feedback", json=rating("up"), headers=headers["globex"])
    assert other.status_code == 201
    listed = client.get("/v1/feedback", headers=headers["acme"]).json()["data"]
    assert [(f["rating"], f["comment"], f["message_id"]) for f in listed] == [("down", "wrong year", "msg_1")]
    assert listed[0]["citations"] == [CITATION]
    assert len(client.get("/v1/feedback", headers=headers["globex"]).json()["data"]) == 1
    assert client.post("/v1/feedback", json=rating("meh"), headers=headers["acme"]).status_code == 400
    assert client.post("/v1/feedback", json=rating("up")).status_code == 401
    assert len(container.feedback.list()) == 2


def test_feedback_and_the_account_refuse_fields_they_do_not_define(
    served: tuple[TestClient, Container, dict[str, dict[str, str]]],
) -> None:
    client, container, headers = served
    extra = client.post("/v1/feedback", json=rating("up", fallbackId="x"), headers=headers["acme"])
    assert extra.status_code == 400 and extra.json()["error"]["param"] == "fallbackId", extra.text
    listed = client.get("/v1/feedback?tenant=globex", headers=headers["acme"])
    assert listed.status_code == 400 and listed.json()["error"]["code"] == "unknown_field"
    account = client.get("/v1/account?sinse=0", headers=headers["acme"])
    assert account.status_code == 400 and account.json()["error"]["param"] == "sinse"
    assert container.feedback.list() == []


def test_a_rating_of_an_answer_no_conversation_holds_is_a_404(
    served: tuple[TestClient, Container, dict[str, dict[str, str]]],
) -> None:
    client, _, headers = served
    body = rating("up", conversation_id="conv_nope", message_id="msg_nope")
    missing = client.post("/v1/feedback", json=body, headers=headers["acme"])
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "message_not_found"
    no_question = client.post("/v1/feedback", json={"rating": "up"}, headers=headers["acme"])
    assert no_question.status_code == 400 and no_question.json()["error"]["param"] == "question"


def test_export_feedback_writes_one_evaluation_line_per_rated_answer(
    served: tuple[TestClient, Container, dict[str, dict[str, str]]],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    client, container, headers = served
    client.post("/v1/feedback", json=rating("up", reference="1911"), headers=headers["acme"])
    client.post("/v1/feedback", json=rating("down", comment="too short"), headers=headers["acme"])
    client.post("/v1/feedback", json=rating("up"), headers=headers["globex"])
    monkeypatch.setenv("VERITY_DATA_DIR", str(container.settings.data_dir))
    out = tmp_path / "out" / "feedback.jsonl"
    result = CliRunner().invoke(cli, ["eval", "export-feedback", "--out", str(out), "--tenant", "acme"])
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert lines == [
        {
            "question": "When was IBM founded?",
            "reference": "1911",
            "contexts": ["IBM was founded in 1911."],
            "answer": "In 1911 [1].",
            "rating": "up",
            "comment": "",
        },
        {
            "question": "When was IBM founded?",
            "contexts": ["IBM was founded in 1911."],
            "answer": "In 1911 [1].",
            "rating": "down",
            "comment": "too short",
        },
    ]
    everyone = CliRunner().invoke(cli, ["eval", "export-feedback", "--out", str(out), "--rating", "up"])
    assert everyone.exit_code == 0 and len(out.read_text(encoding="utf-8").splitlines()) == 2


def test_the_account_shows_credits_left_with_expiry_usage_today_and_the_limits(
    served: tuple[TestClient, Container, dict[str, dict[str, str]]],
) -> None:
    client, container, headers = served
    expires = time.time() + 86400
    container.gateway.grant("acme", 1000, expires_at=expires)
    container.gateway.grant("acme", 500)
    client.post("/v1/embeddings", json={"input": "ducks", "model": "default"}, headers=headers["acme"])
    account = client.get("/v1/account", headers=headers["acme"]).json()
    assert account["tenant"] == "acme" and account["auth_enabled"] is True
    credits = account["credits"]
    assert credits["enforced"] and credits["next_expiry"] == pytest.approx(expires)
    assert credits["balance"] == sum(b["remaining"] for b in credits["blocks"]) < 1500
    assert account["today"]["requests"] == 1 and account["today"]["tokens"] > 0
    assert account["limits"]["key_rpm"] == 30 and account["limits"]["tenant_rpm"] is None
    other = client.get("/v1/account", headers=headers["globex"]).json()
    assert other["credits"] == {"enforced": False, "balance": None, "next_expiry": None, "blocks": []}
    assert other["today"]["requests"] == 0
    assert client.get("/v1/account").status_code == 401


def test_the_page_and_its_scripts_are_served_with_a_policy_that_allows_no_inline_script(
    served: tuple[TestClient, Container, dict[str, dict[str, str]]],
) -> None:
    client, _, _ = served
    page = client.get("/")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    policy = page.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy
    assert "frame-ancestors 'none'" in policy
    assert "<script>" not in page.text and " on" not in page.text.split("<body", 1)[1].split(">", 1)[0]
    script = client.get("/static/js/main.js")
    assert script.status_code == 200 and script.headers["content-security-policy"] == policy
    assert client.get("/static/vendor/dompurify@3.5.0/purify.min.js").status_code == 200


def test_rating_a_conversation_turn_stores_its_question_answer_and_citations_from_the_server(
    served: tuple[TestClient, Container, dict[str, dict[str, str]]],
) -> None:
    client, container, headers = served
    conversation = client.post("/v1/conversations", json={}, headers=headers["acme"]).json()
    turn = client.post(
        f"/v1/conversations/{conversation['id']}/messages",
        json={"question": "Who are you?"},
        headers=headers["acme"],
    ).json()
    ids = {"conversation_id": conversation["id"], "message_id": turn["message_id"]}
    body = {"rating": "down", "question": "forged", "answer": "forged", **ids}
    stored = client.post("/v1/feedback", json=body, headers=headers["acme"])
    assert stored.status_code == 201
    assert (stored.json()["question"], stored.json()["answer"]) == ("Who are you?", turn["answer"])
    assert container.feedback.list("acme")[0].question == "Who are you?"
    missing = client.post("/v1/feedback", json={**body, "message_id": "msg_nope"}, headers=headers["acme"])
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "message_not_found"
    elsewhere = client.post("/v1/feedback", json=body, headers=headers["globex"])
    assert elsewhere.status_code == 404
    assert client.post("/v1/feedback", json={"rating": "up"}, headers=headers["acme"]).status_code == 400
