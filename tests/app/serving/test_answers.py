"""The answers use case with fakes: the fair turn covers only the engine's work, so a tenant whose
retrieval is slow does not hold back another tenant's answer."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

from app.container import Container
from app.gateway.keys import Caller
from app.serving.answers import AnswerRequest, Turn
from app.settings import Settings
from generation.engines.scripted import ScriptedEngine
from retrieval.search import SearchResult
from retrieval.types import Scope
from tests.generation.helpers import passage

DUCKS = passage("Ducks eat grasses, aquatic plants, fish, insects and small molluscs.", 1)
REPLY = "Ducks eat aquatic plants and insects [1]."


class GatedRetriever:
    """Finds the duck passage; a search for the tenant `slow` blocks until released."""

    def __init__(self) -> None:
        self.entered, self.release = threading.Event(), threading.Event()
        self.queries: list[str] = []

    def search(self, query: str, scope: Scope, top_k: int) -> SearchResult:
        self.queries.append(query)
        if scope.tenant == "slow":
            self.entered.set()
            assert self.release.wait(60), "the test never released the slow search"
        return SearchResult([DUCKS], {"retrieve": 1.0})


def container_with(tmp_path: Path, retriever: GatedRetriever, engine: ScriptedEngine) -> Container:
    settings = Settings(data_dir=tmp_path, safety="off", max_answer_tokens=32)
    return Container(settings, engine=engine, retriever=retriever)


def test_a_slow_retrieval_does_not_hold_back_another_tenants_engine_work(tmp_path: Path) -> None:
    retriever = GatedRetriever()
    container = container_with(tmp_path, retriever, ScriptedEngine(lambda _: REPLY))
    service = container.answer_service
    assert container.gateway.scheduler.capacity == 1  # one engine slot: the two would queue if it were held

    async def scenario() -> tuple[str, bool, str]:
        slow = asyncio.create_task(service.answer(Caller("slow"), AnswerRequest("What do ducks eat?")))
        assert await asyncio.to_thread(retriever.entered.wait, 60)
        # the slow tenant is in retrieval now; the other tenant's answer runs to the end meanwhile
        quick = await asyncio.wait_for(
            service.answer(Caller("quick"), AnswerRequest("What do ducks eat?")), 60
        )
        slow_still_retrieving = not slow.done()
        retriever.release.set()
        return quick.answer, slow_still_retrieving, (await slow).answer

    quick, slow_still_retrieving, slow = asyncio.run(scenario())
    assert quick == REPLY and slow_still_retrieving and slow == REPLY
    statuses = [
        r.status for r in container.gateway.store.usage("quick") + container.gateway.store.usage("slow")
    ]
    assert statuses == [200, 200]
    container.close()


def test_history_reaches_the_prompt_and_the_search_query_reaches_retrieval(tmp_path: Path) -> None:
    retriever, engine = GatedRetriever(), ScriptedEngine(lambda _: REPLY)
    container = container_with(tmp_path, retriever, engine)
    request = AnswerRequest(
        "And what do they eat?",
        history=[Turn("user", "Tell me about ducks."), Turn("assistant", "Ducks are birds [1].")],
        search_query="What do ducks eat?",
    )
    answer = asyncio.run(container.answer_service.answer(Caller("default"), request))
    assert answer.answer == REPLY and retriever.queries == ["What do ducks eat?"]
    roles = [m.role for m in engine.prompts[0]]
    assert roles == ["system", "user", "assistant", "user"]
    assert engine.prompts[0][1].content == "Tell me about ducks."
    assert "And what do they eat?" in engine.prompts[0][-1].content
    container.close()
