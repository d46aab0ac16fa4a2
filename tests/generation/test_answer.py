from __future__ import annotations

from generation.answer import AnswerPipeline, AnswerQuery, DeltaEvent, DoneEvent, SentenceEvent, SourcesEvent
from generation.engines.protocol import GenerationParams
from generation.engines.scripted import ScriptedEngine
from retrieval.types import Scope
from tests.generation.helpers import FixedRetriever, passage

DUCKS = passage("Ducks eat grasses, aquatic plants, fish, insects and small molluscs.", 1)
GEESE = passage("Geese migrate south in large flocks every autumn.", 2)


def run(pipeline: AnswerPipeline, question: str = "What do ducks eat?") -> list[object]:
    return list(pipeline.run(question, Scope(collection="birds"), top_k=5))


def test_events_come_in_order_and_done_holds_the_whole_answer() -> None:
    engine = ScriptedEngine(lambda _: "Ducks eat aquatic plants and insects. [1]")
    events = run(AnswerPipeline(FixedRetriever([DUCKS, GEESE]), engine))
    assert isinstance(events[0], SourcesEvent) and events[0].passages == [DUCKS, GEESE]
    deltas = [e for e in events if isinstance(e, DeltaEvent)]
    done = events[-1]
    assert isinstance(done, DoneEvent)
    assert "".join(d.text for d in deltas) == done.answer == "Ducks eat aquatic plants and insects. [1]"
    assert [c.number for c in done.citations] == [1]
    assert not done.abstained
    assert {"retrieve", "first_token", "generate", "total"} <= set(done.timings_ms)


def test_usage_counts_prompt_completion_and_context() -> None:
    engine = ScriptedEngine(lambda _: "Ducks eat fish. [1]")
    done = run(AnswerPipeline(FixedRetriever([DUCKS, GEESE]), engine))[-1]
    assert isinstance(done, DoneEvent)
    assert done.usage.prompt_tokens == engine.count_prompt_tokens(engine.prompts[0])
    assert done.usage.completion_tokens == 4
    assert done.usage.passages_included == 2 and done.usage.passages_dropped == 0
    assert 0 < done.usage.context_tokens <= done.usage.context_budget_tokens


def test_tight_budget_drops_passages_and_reports_them() -> None:
    engine = ScriptedEngine(lambda _: "Ducks eat fish.")
    pipeline = AnswerPipeline(FixedRetriever([DUCKS, GEESE]), engine, context_budget_tokens=16)
    events = run(pipeline)
    sources, done = events[0], events[-1]
    assert isinstance(sources, SourcesEvent) and isinstance(done, DoneEvent)
    assert sources.passages == [DUCKS]
    assert done.usage.passages_dropped == 1
    assert "Geese" not in engine.prompts[0][1].content


def test_no_passages_abstains_without_calling_the_model() -> None:
    engine = ScriptedEngine(lambda _: "should not be called")
    done = run(AnswerPipeline(FixedRetriever([]), engine))[-1]
    assert isinstance(done, DoneEvent)
    assert done.abstained and done.answer == "Not in your documents."
    assert engine.prompts == [] and done.citations == []


def test_model_abstention_is_reported_without_citations() -> None:
    engine = ScriptedEngine(lambda _: "Not in your documents. [1]")
    done = run(AnswerPipeline(FixedRetriever([DUCKS]), engine))[-1]
    assert isinstance(done, DoneEvent)
    assert done.abstained and done.citations == []


def test_scope_and_max_tokens_are_passed_down() -> None:
    retriever = FixedRetriever([DUCKS])
    engine = ScriptedEngine(lambda _: "one two three four five six")
    done = run(AnswerPipeline(retriever, engine, params=GenerationParams(max_tokens=3)))[-1]
    assert isinstance(done, DoneEvent)
    assert retriever.scopes == [Scope(collection="birds")]
    assert done.answer == "one two three"


def test_each_sentence_is_checked_as_soon_as_it_is_finished() -> None:
    reply = "Ducks eat aquatic plants and insects. [2] Geese migrate south every autumn. [2] Ducks fly."
    events = run(AnswerPipeline(FixedRetriever([DUCKS, GEESE]), ScriptedEngine(lambda _: reply)))
    checks = [(i, e) for i, e in enumerate(events) if isinstance(e, SentenceEvent)]
    done = events[-1]
    assert isinstance(done, DoneEvent)
    # the first two sentences are checked while the answer streams; the last one once the answer ends
    assert [e.index for _, e in checks] == [0, 1, 2]
    assert [e.check for _, e in checks] == done.sentences
    assert isinstance(events[checks[2][0] - 1], DeltaEvent) and checks[2][0] == len(events) - 2
    first_at, first = checks[0]
    streamed_before = "".join(e.text for e in events[:first_at] if isinstance(e, DeltaEvent))
    assert streamed_before.startswith("Ducks eat aquatic plants and insects. [2] Geese")
    assert any(isinstance(e, DeltaEvent) for e in events[first_at:])
    # the model's marker [2] did not support the duck sentence: the check corrects it to passage 1
    assert first.check.corrected_markers == (2,) and first.check.numbers == (1,)
    assert [c.number for c in first.citations] == [1] and first.citations[0].verified
    assert checks[1][1].check.numbers == (2,) and checks[1][1].check.supported


def test_a_one_sentence_answer_gets_its_sentence_event_and_its_marker_rewritten() -> None:
    engine = ScriptedEngine(lambda _: "Ducks eat aquatic plants and insects. [2]")
    events = run(AnswerPipeline(FixedRetriever([DUCKS, GEESE]), engine))
    checks = [e for e in events if isinstance(e, SentenceEvent)]
    done = events[-1]
    assert isinstance(done, DoneEvent) and len(checks) == 1
    assert checks[0].check.text == "Ducks eat aquatic plants and insects. [1]"
    assert done.answer == "Ducks eat aquatic plants and insects. [1]"
    assert done.raw_answer == "Ducks eat aquatic plants and insects. [2]"
    assert [c.number for c in done.citations] == [1]


def test_the_done_event_reuses_the_sentence_checks_made_while_streaming() -> None:
    reply = "Ducks eat aquatic plants and insects. [1] Geese migrate south every autumn. [2] Ducks fly."
    events = run(AnswerPipeline(FixedRetriever([DUCKS, GEESE]), ScriptedEngine(lambda _: reply)))
    streamed = [e.check for e in events if isinstance(e, SentenceEvent)]
    done = events[-1]
    assert isinstance(done, DoneEvent) and len(streamed) == 3 and len(done.sentences) == 3
    assert all(early is final for early, final in zip(streamed, done.sentences, strict=True))


def test_the_cost_is_planned_once_and_the_prompt_counted_from_its_parts() -> None:
    engine = ScriptedEngine(lambda _: "Ducks eat fish. [1]", context_window=200)
    pipeline = AnswerPipeline(FixedRetriever([DUCKS, GEESE]), engine, params=GenerationParams(max_tokens=50))
    query = AnswerQuery("What do ducks eat?", Scope(collection="birds"))
    plan = pipeline.plan(query)
    assert plan.context_budget == 200 - plan.frame_tokens - 50  # the window, not the 2048 configured
    assert plan.total_tokens == 200
    done = list(pipeline.run("What do ducks eat?", Scope(collection="birds")))[-1]
    assert isinstance(done, DoneEvent) and done.usage.context_budget_tokens == plan.context_budget
    assert done.usage.prompt_tokens == plan.frame_tokens + done.usage.context_tokens
    assert done.usage.prompt_tokens == engine.count_prompt_tokens(engine.prompts[0])
