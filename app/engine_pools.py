"""The remote engines the settings describe: a pool of replicas, and a canary pool beside it.

Built by the container when `VERITY_ENGINE_URLS` is set; each URL is an OpenAI-compatible server
(llama.cpp's `llama-server`, vLLM) checked for health every `VERITY_ENGINE_HEALTH_INTERVAL_S`.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

from app.rollout import RolloutFile
from app.settings import Settings
from generation.engines.breaker import CircuitBreaker
from generation.engines.canary import CanaryEngine, CanaryPolicy
from generation.engines.openai_http import OpenAIHttpEngine
from generation.engines.pool import EnginePool, Replica
from generation.engines.protocol import Engine


@dataclass(frozen=True)
class RemoteEngines:
    """The stable pool, the canary pool and engine (when configured), and the engine requests use."""

    stable: EnginePool
    canary_pool: EnginePool | None
    canary: CanaryEngine | None

    @property
    def engine(self) -> Engine:
        """What answers stream from: the canary split when there is one, else the stable pool."""
        return self.canary if self.canary is not None else self.stable

    def pools(self) -> list[tuple[str, EnginePool]]:
        """The pools by name, for metrics and the admin API."""
        named = [("stable", self.stable)]
        return named + ([("canary", self.canary_pool)] if self.canary_pool is not None else [])

    def close(self) -> None:
        """Stop health checks and close connections."""
        for _, pool in self.pools():
            pool.close()


def build_pool(settings: Settings, urls: Sequence[str], model: str, rollout: RolloutFile) -> EnginePool:
    """A pool over `urls`, all serving `model`, its health checks started."""
    s = settings
    key = s.engine_api_key.get_secret_value() if s.engine_api_key else None
    replicas = []
    for url in urls:
        engine = OpenAIHttpEngine(url, model, key, s.llm_context_window, s.engine_timeout_s)
        breaker = CircuitBreaker(s.engine_breaker_failures, s.engine_breaker_cooldown_s, time.monotonic)
        replicas.append(Replica(url, engine, engine.healthy, breaker=breaker))
    pool = EnginePool(replicas, s.engine_affinity_slack, rollout.drained)
    pool.start_health_checks(s.engine_health_interval_s)
    return pool


def build_remote_engines(settings: Settings, rollout: RolloutFile) -> RemoteEngines:
    """The stable pool from `VERITY_ENGINE_URLS`, and the canary from `VERITY_CANARY_ENGINE_URLS`."""
    s = settings
    stable = build_pool(s, s.engine_urls, s.engine_model or s.llm_model, rollout)
    if not s.canary_engine_urls:
        return RemoteEngines(stable, None, None)
    canary_pool = build_pool(s, s.canary_engine_urls, s.canary_model or "canary", rollout)
    policy = CanaryPolicy(
        s.canary_share, s.canary_min_requests, s.canary_max_error_rate, s.canary_max_first_token_s
    )
    return RemoteEngines(stable, canary_pool, CanaryEngine(stable, canary_pool, policy, rollout))
