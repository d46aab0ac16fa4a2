"""Citations a reader can trust, over real HTTP: markers rewritten to the supporting source, wrong numbers
unsupported, every sentence checked while streaming (real SQLite, FAISS, BM25 and MiniLM; a scripted
engine, since the point is what Verity does with a reply it cannot trust)."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence

import pytest
from fastapi.testclient import TestClient

from app.container import Container
from app.http.main import create_app
from app.settings import Settings
from generation.engines.protocol import ChatMessage
from generation.engines.scripted import ScriptedEngine
from retrieval.embedders import SentenceTransformerEmbedder
from tests.app.sse import parse_sse

REGIONS = "# Regional sales\n\n| region | change |\n| --- | --- |\n| North | -3 |\n| South | 12 |\n"
BIRDS = "# Birds\n\nDucks eat grasses, aquatic plants, fish, insects and small molluscs.\n"


def source_number(messages: Sequence[ChatMessage], filename: str) -> int:
    """The number the prompt gave the source from `filename`."""
    found = re.search(rf"\[(\d+)\] \({re.escape(filename)}", messages[-1].content)
    assert found is not None, f"{filename} was not among the sources"
    return int(found.group(1))


def reply(messages: Sequence[ChatMessage]) -> str:
    """A model that cites the wrong source for a right figure, and the right source for a wrong one."""
    regions, birds = source_number(messages, "regions.md"), source_number(messages, "birds.md")
    return f"The North region change was -3 [{birds}]. The South region change was 9 [{regions}]."


@pytest.fixture(scope="module")
def client(
    tmp_path_factory: pytest.TempPathFactory, embedder: SentenceTransformerEmbedder
) -> Iterator[TestClient]:
    folder = tmp_path_factory.mktemp("files")
    (folder / "regions.md").write_text(REGIONS)
    (folder / "birds.md").write_text(BIRDS)
    settings = Settings(data_dir=tmp_path_factory.mktemp("verity"), safety="off", abstention=False)
    container = Container(settings, embedder=embedder, engine=ScriptedEngine(reply))
    assert not container.ingest_pipeline.ingest([folder]).failed
    with TestClient(create_app(container)) as test_client:
        yield test_client
    container.close()


def test_the_answer_text_cites_the_supporting_source_and_keeps_the_model_text(client: TestClient) -> None:
    body = client.post("/v1/answers", json={"question": "How did sales change in the North region?"}).json()
    numbers = {s["source"].rsplit("/", 1)[-1]: s["number"] for s in body["sources"]}
    regions, birds = numbers["regions.md"], numbers["birds.md"]
    assert body["raw_answer"] == (
        f"The North region change was -3 [{birds}]. The South region change was 9 [{regions}]."
    )
    assert body["answer"] == f"The North region change was -3 [{regions}]. The South region change was 9."
    north, south = body["sentences"]
    assert north["supported"] and north["citations"] == [regions] and north["corrected_markers"] == [birds]
    assert north["original_markers"] == [birds] and north["check"] == "lexical+entities"
    assert (
        not south["supported"]
        and south["missing_terms"] == ["9"]
        and south["raw_text"].endswith(f"[{regions}].")
    )
    assert all(1 <= n <= len(body["sources"]) for n in map(int, re.findall(r"\[(\d+)\]", body["answer"])))


def test_every_sentence_gets_its_sentence_event_and_done_carries_the_rewritten_answer(
    client: TestClient,
) -> None:
    request = {"question": "How did sales change in the North region?", "stream": True}
    with client.stream("POST", "/v1/answers", json=request) as response:
        frames = parse_sse(response.iter_lines())
    sentences = [data for event, data in frames if event == "sentence"]
    done = frames[-2][1]
    assert [s["index"] for s in sentences] == [0, 1] and len(done["sentences"]) == 2
    assert [s["text"] for s in sentences] == [s["text"] for s in done["sentences"]]
    assert done["answer"] != done["raw_answer"] and done["answer"].endswith("was 9.")


def test_chat_completion_content_is_the_rewritten_answer(client: TestClient) -> None:
    body = client.post(
        "/v1/chat/completions",
        json={"model": "verity", "messages": [{"role": "user", "content": "How did North sales change?"}]},
    ).json()
    content = body["choices"][0]["message"]["content"]
    assert content.endswith("The South region change was 9.") and body["sentences"][1]["supported"] is False


def test_an_unknown_collection_is_a_404_on_answers_chat_and_documents(client: TestClient) -> None:
    question = {"question": "How did North sales change?", "collection": "sails"}
    chat = {"model": "verity:sails", "messages": [{"role": "user", "content": "How did North sales change?"}]}
    for response in (
        client.post("/v1/answers", json=question),
        client.post("/v1/answers", json={**question, "stream": True}),
        client.get("/v1/documents", params={"collection": "sails"}),
        client.get("/v1/collections/sails"),
    ):
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "collection_not_found", response.json()
    response = client.post("/v1/chat/completions", json=chat)
    assert response.status_code == 404 and "'sails'" in response.json()["error"]["message"]
