"""The canary's share of traffic, its per-version outcomes and its automatic rollback."""

from __future__ import annotations

from pathlib import Path

from app.rollout import RolloutFile
from generation.engines.canary import CanaryEngine, CanaryPolicy
from generation.engines.protocol import ChatMessage, GenerationParams
from generation.engines.scripted import ScriptedEngine
from tests.generation.engines.test_pool import Flaky

ASK = [ChatMessage("user", "What is a duck?")]


def answers(engine: CanaryEngine, n: int) -> list[str]:
    return ["".join(engine.stream(ASK, GenerationParams(max_tokens=8))) for _ in range(n)]


def test_a_healthy_canary_takes_its_share(tmp_path: Path) -> None:
    rollout = RolloutFile(tmp_path / "rollout.json", "canary-model")
    engine = CanaryEngine(Flaky("stable"), Flaky("canary"), CanaryPolicy(share=0.2), rollout)
    assert answers(engine, 50).count("ok from canary") == 10
    assert rollout.decision() == "active"
    stable, canary = engine.versions()
    assert (stable.requests, canary.requests, canary.errors, canary.share) == (40, 10, 0, 0.2)


def test_a_failing_canary_at_20_percent_is_rolled_back_automatically(tmp_path: Path) -> None:
    rollout = RolloutFile(tmp_path / "rollout.json", "canary-model")
    broken = Flaky("canary", down=True)
    policy = CanaryPolicy(share=0.2, min_requests=5, max_error_rate=0.5)
    engine = CanaryEngine(Flaky("stable"), broken, policy, rollout)
    replies = answers(engine, 100)
    assert set(replies) == {"ok from stable"}  # every caller answered, by the stable engine
    assert broken.calls == 5  # rolled back once the canary had its minimum of requests
    assert rollout.decision() == "rolled_back"
    assert rollout.canary()["reason"].startswith("automatic: error rate 100%")
    assert RolloutFile(tmp_path / "rollout.json", "canary-model").decision() == "rolled_back"
    assert RolloutFile(tmp_path / "rollout.json", "next-canary").decision() == "active"


def test_a_slow_canary_is_rolled_back_on_latency(tmp_path: Path) -> None:
    now = [0.0]

    class Slow(ScriptedEngine):
        def stream(self, messages, params):  # type: ignore[no-untyped-def]
            now[0] += 5.0
            yield from super().stream(messages, params)

    rollout = RolloutFile(tmp_path / "rollout.json", "c")
    policy = CanaryPolicy(share=0.5, min_requests=3, max_first_token_s=2.0)
    engine = CanaryEngine(Flaky("stable"), Slow(lambda _: "slow"), policy, rollout, clock=lambda: now[0])
    answers(engine, 6)
    assert rollout.decision() == "rolled_back"
    assert "time to first token 5.00s > 2s" in rollout.canary()["reason"]


def test_promote_sends_everything_to_the_canary(tmp_path: Path) -> None:
    rollout = RolloutFile(tmp_path / "rollout.json", "c")
    engine = CanaryEngine(Flaky("stable"), Flaky("canary"), CanaryPolicy(share=0.2), rollout)
    rollout.decide("promoted", "by hand")
    assert set(answers(engine, 5)) == {"ok from canary"}
    rollout.decide("rolled_back", "by hand")
    assert set(answers(engine, 5)) == {"ok from stable"}


def test_drained_replicas_are_kept_in_the_file(tmp_path: Path) -> None:
    one, two = RolloutFile(tmp_path / "r.json"), RolloutFile(tmp_path / "r.json")
    one.set_drained("http://a", True)
    two.set_drained("http://b", True)
    assert one.drained() == two.drained() == {"http://a", "http://b"}
    two.set_drained("http://a", False)
    assert one.drained() == {"http://b"}
