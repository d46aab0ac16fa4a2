"""`/admin/engines` and `/admin/canary`: the engine replicas and the canary, for operators holding the
admin key. Draining, promoting and rolling back write the shared rollout file (app.rollout), so every
gateway on the same data directory follows, and `verity engines` / `verity canary` do the same."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict

from app.container import Container
from app.http.errors import ApiError
from app.http.routes_admin import require_admin

router = APIRouter(prefix="/admin", tags=["admin"])


class DrainIn(BaseModel):
    """A replica to drain (or, with `drained: false`, to return to service)."""

    model_config = ConfigDict(extra="forbid")

    url: str
    drained: bool = True


def _remote(container: Container) -> Any:
    engines = container.remote_engines
    if engines is None:
        raise ApiError(409, "no engine replicas are configured (set VERITY_ENGINE_URLS)", code="no_replicas")
    return engines


@router.get("/engines")
def list_engines(container: Container = Depends(require_admin)) -> dict[str, Any]:
    """Each replica of each pool: health, drained, breaker, in flight, served, failed."""
    engines = _remote(container)
    return {name: [asdict(r) for r in pool.status()] for name, pool in engines.pools()}


@router.post("/engines/drain")
def drain(body: DrainIn, container: Container = Depends(require_admin)) -> dict[str, Any]:
    """Drain a replica for maintenance (it finishes what it runs and gets nothing new), or undrain it."""
    engines = _remote(container)
    known = {r.url for _, pool in engines.pools() for r in pool.replicas}
    if body.url not in known:
        raise ApiError(
            404, f"no replica {body.url!r}; known: {sorted(known)}", param="url", code="no_replica"
        )
    drained = container.rollout.set_drained(body.url, body.drained)
    return {"drained": sorted(drained)}


@router.get("/canary")
def canary_status(container: Container = Depends(require_admin)) -> dict[str, Any]:
    """The canary's decision and each version's share and outcomes in this gateway."""
    engines = _remote(container)
    if engines.canary is None:
        raise ApiError(409, "no canary is configured (set VERITY_CANARY_ENGINE_URLS)", code="no_canary")
    versions = [asdict(v) for v in engines.canary.versions()]
    return {"decision": container.rollout.decision(), **container.rollout.canary(), "versions": versions}


@router.post("/canary/{action}")
def canary_decide(action: str, container: Container = Depends(require_admin)) -> dict[str, Any]:
    """Promote the canary (all traffic to it) or roll it back (all traffic to the stable model)."""
    decisions = {"promote": "promoted", "rollback": "rolled_back"}
    if action not in decisions:
        raise ApiError(404, f"unknown canary action {action!r}: promote or rollback", code="unknown_action")
    _ = canary_status(container)
    container.rollout.decide(decisions[action], "by an operator (admin API)")  # type: ignore[arg-type]
    return canary_status(container)
