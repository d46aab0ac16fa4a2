"""Rate limits and stream slots in Redis, shared by every gateway process of a deployment.

The same token buckets as `RateLimiter`, each a Redis hash (level, at), and each subject's open
streams a sorted set of slot leases. One Lua script per admission refills every bucket the request
draws from, checks them and the slots, and takes all or nothing, so processes cannot both take the
last request of a minute. Time comes from the caller's `Clock` (wall time: buckets are shared across
machines), so tests on a fake clock stay deterministic. A stream slot is a lease: a process killed
mid-stream frees it when the lease ends (`slot_lease_s`), never holding it for good.

If Redis cannot be reached, an admission is refused with `LimitsUnavailable` (503 with Retry-After):
limits fail closed, never letting requests through unlimited. Settling (after the request ran) only
logs the failure; its token correction is lost and its slot frees when its lease ends.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

import redis

from app.gateway.clock import Clock
from app.gateway.errors import LimitsUnavailable
from app.gateway.limits import Admission, Bucket, Check, Limits, LimitSpec, refuse, subjects_of

log = logging.getLogger(__name__)

# Every key in one hash slot (the braces), as the scripts touch several keys: it works on a Redis Cluster too.
PREFIX = "verity:{limits}:"

ADMIT = """
local now, n, member, lease = tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3], tonumber(ARGV[4])
local levels, ats, limits, amounts, ok = {}, {}, {}, {}, true
for i = 1, n do
  local limit, amount = tonumber(ARGV[3 + 2 * i]), tonumber(ARGV[4 + 2 * i])
  local state = redis.call('HMGET', KEYS[i], 'level', 'at')
  local level, at = limit, now
  if state[1] then level, at = tonumber(state[1]), tonumber(state[2]) end
  levels[i] = math.min(limit, level + math.max(0, now - at) * limit / 60)
  ats[i], limits[i], amounts[i] = math.max(now, at), limit, amount
  if levels[i] < amount then ok = false end
end
local counts = {}
for j = 1, #KEYS - n do
  redis.call('ZREMRANGEBYSCORE', KEYS[n + j], '-inf', now)
  counts[j] = redis.call('ZCARD', KEYS[n + j])
  if counts[j] >= tonumber(ARGV[4 + 2 * n + j]) then ok = false end
end
if ok then
  for i = 1, n do
    local level = levels[i] - amounts[i]
    redis.call('HSET', KEYS[i], 'level', string.format('%.17g', level), 'at', string.format('%.17g', ats[i]))
    redis.call('PEXPIRE', KEYS[i], math.ceil((limits[i] - level) * 60000 / limits[i]) + 1000)
  end
  for j = 1, #KEYS - n do
    redis.call('ZADD', KEYS[n + j], now + lease, member)
    redis.call('PEXPIRE', KEYS[n + j], math.ceil(lease * 1000) + 1000)
  end
end
local out = {ok and 1 or 0}
for i = 1, n do out[#out + 1] = string.format('%.17g', levels[i]) end
for j = 1, #counts do out[#out + 1] = counts[j] end
return out
"""

SETTLE = """
local delta, n, member = tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3]
for i = 1, n do
  local level, limit = redis.call('HGET', KEYS[i], 'level'), tonumber(ARGV[3 + i])
  if level then
    level = tonumber(level) + delta
    redis.call('HSET', KEYS[i], 'level', string.format('%.17g', level))
    redis.call('PEXPIRE', KEYS[i], math.ceil((limit - math.min(level, limit)) * 60000 / limit) + 1000)
  end
end
for j = n + 1, #KEYS do redis.call('ZREM', KEYS[j], member) end
return {1}
"""


def connect(url: str, timeout_s: float = 2.0) -> redis.Redis:
    """A Redis client for `url` that gives up after `timeout_s` rather than hanging a request."""
    return redis.Redis.from_url(url, socket_timeout=timeout_s, socket_connect_timeout=timeout_s)


class RedisRateLimiter:
    """Buckets and stream slots of every key and tenant in Redis; each admission is one atomic script."""

    def __init__(
        self,
        client: redis.Redis,
        clock: Clock,
        per_key: LimitSpec,
        per_tenant: LimitSpec,
        slot_lease_s: float = 900.0,
        prefix: str = PREFIX,
    ) -> None:
        self._client, self._clock, self._limits = client, clock, Limits(per_key, per_tenant)
        self._lease, self._prefix = slot_lease_s, prefix
        self._admit = client.register_script(ADMIT)
        self._settle = client.register_script(SETTLE)

    def _streamed(self, subjects: tuple[str, ...]) -> list[tuple[str, int]]:
        limits = [(s, self._limits.spec(s).streams) for s in subjects]
        return [(s, limit) for s, limit in limits if limit is not None]

    def admit(self, tenant: str, key_id: str | None, tokens: int, stream: bool) -> Admission:
        """Take one request and `tokens` from every bucket of the key and tenant, or raise RateLimited
        (LimitsUnavailable when Redis cannot be reached)."""
        subjects, now = subjects_of(tenant, key_id), self._clock.now()
        draws = [
            (s, kind, limit, amount)
            for s in subjects
            for kind, limit, amount in self._limits.draws(s, tokens)
        ]
        slots = self._streamed(subjects) if stream else []
        slot = f"slot_{uuid.uuid4().hex}"
        keys = [f"{self._prefix}{s}:{kind}" for s, kind, _, _ in draws] + [
            f"{self._prefix}{s}:streams" for s, _ in slots
        ]
        args: list[Any] = [repr(now), len(draws), slot, repr(self._lease)]
        args += [x for _, _, limit, amount in draws for x in (limit, repr(amount))]
        args += [limit for _, limit in slots]
        reply = self._run(self._admit, keys, args)
        levels, counts = reply[1 : 1 + len(draws)], reply[1 + len(draws) :]
        checks = [Check(s, kind, limit, amount, Bucket(float(level), now))
                  for (s, kind, limit, amount), level in zip(draws, levels, strict=True)]  # fmt: skip
        opened = {s: int(count) for (s, _), count in zip(slots, counts, strict=True)}
        full = self._limits.full_slots(subjects, stream, lambda s: opened.get(s, 0))
        headers = refuse(checks, full, tokens)  # raises exactly when the script took nothing
        return Admission(subjects, tokens, stream, headers, slot if slots else "")

    def settle(self, admission: Admission, actual_tokens: int) -> None:
        """Correct the token buckets by the real count and free the stream slot."""
        buckets = [(s, spec.tokens_per_minute) for s in admission.subjects
                   if (spec := self._limits.spec(s)).tokens_per_minute is not None]  # fmt: skip
        keys = [f"{self._prefix}{s}:tokens" for s, _ in buckets]
        if admission.slot:
            keys += [f"{self._prefix}{s}:streams" for s, _ in self._streamed(admission.subjects)]
        args = [
            admission.tokens - actual_tokens,
            len(buckets),
            admission.slot,
            *(limit for _, limit in buckets),
        ]
        try:
            self._run(self._settle, keys, args)
        except LimitsUnavailable as exc:
            log.warning("rate limits not settled (tokens not corrected, slot frees at its lease): %s", exc)

    def _run(self, script: Any, keys: list[str], args: list[Any]) -> list[Any]:
        try:
            return list(script(keys=keys, args=args)) if keys else [1]
        except redis.RedisError as error:
            raise LimitsUnavailable(f"the rate-limit store (Redis) cannot be reached: {error}") from error

    def close(self) -> None:
        """Release the connections."""
        self._client.close()
