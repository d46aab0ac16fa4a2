"""Abuse signals as pure functions over what was seen: a shared key, a correlated burst, probing of
the safety filters, a tenant far above its own baseline. Each returns the subjects it flags."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from app.gateway.usage import UsageRecord

SIGNALS = ("shared_key", "correlated_burst", "probing", "tenant_spike")


@dataclass(frozen=True)
class Thresholds:
    """When each signal fires (the `VERITY_ABUSE_*` settings)."""

    window_s: float = 600
    key_addresses: int = 5
    probe_blocks: int = 5
    burst_keys: int = 5
    burst_slice_s: float = 60
    burst_min: int = 10
    burst_factor: float = 5.0
    baseline_hours: float = 24
    spike_factor: float = 10.0
    spike_min: int = 200


def client_address(peer: str | None, forwarded_for: str | None, trusted: Iterable[str]) -> str:
    """The client's address: the peer's, or, when the peer is a trusted proxy, the nearest address in
    X-Forwarded-For that is not itself a trusted proxy."""
    proxies = set(trusted)
    peer = peer or "unknown"
    if peer not in proxies or not forwarded_for:
        return peer
    hops = [h.strip() for h in forwarded_for.split(",") if h.strip()]
    for hop in reversed(hops):
        if hop not in proxies:
            return hop
    return hops[0] if hops else peer


class ClientAddresses:
    """Reads a request's client address, believing X-Forwarded-For only from the configured proxies."""

    def __init__(self, trusted_proxies: Iterable[str]) -> None:
        self._trusted = tuple(trusted_proxies)

    def of(self, peer: str | None, forwarded_for: str | None) -> str:
        """The client's address (see `client_address`)."""
        return client_address(peer, forwarded_for, self._trusted)


def shared_key(addresses: Mapping[str, float], now: float, t: Thresholds) -> int | None:
    """How many addresses used one key within the window, when that many flag it; else None."""
    recent = sum(1 for seen in addresses.values() if seen > now - t.window_s)
    return recent if recent >= t.key_addresses else None


def probing(blocks: Sequence[float], now: float, t: Thresholds) -> int | None:
    """How many safety blocks one key met within the window, when that many flag it; else None."""
    recent = sum(1 for at in blocks if at > now - t.window_s)
    return recent if recent >= t.probe_blocks else None


def correlated_burst(ledger: Sequence[UsageRecord], now: float, t: Thresholds) -> dict[str, int]:
    """Keys each sending far more than their own mean in the last slice, when enough do at once:
    key id -> requests in the slice (empty when too few keys burst together)."""
    history_start = now - t.baseline_hours * 3600
    slice_start = now - t.burst_slice_s
    current = Counter(r.key_id for r in ledger if r.key_id and r.at >= slice_start and r.at < now)
    before = Counter(r.key_id for r in ledger if r.key_id and history_start <= r.at < slice_start)
    slices = max(1.0, (slice_start - history_start) / t.burst_slice_s)
    bursting = {
        key: n
        for key, n in current.items()
        if n >= t.burst_min and n >= t.burst_factor * max(before[key] / slices, 1.0)
    }
    return bursting if len(bursting) >= t.burst_keys else {}


def tenant_spikes(ledger: Sequence[UsageRecord], now: float, t: Thresholds) -> dict[str, tuple[int, float]]:
    """Tenants whose requests in the last hour pass `spike_factor` times their own hourly mean over the
    baseline before it (and `spike_min`): tenant -> (requests, mean). A tenant needs half the baseline
    of history to have one."""
    hour_start, history_start = now - 3600, now - 3600 - t.baseline_hours * 3600
    last_hour = Counter(r.tenant for r in ledger if hour_start <= r.at < now)
    before = Counter(r.tenant for r in ledger if history_start <= r.at < hour_start)
    first: dict[str, float] = {}
    for r in ledger:
        first[r.tenant] = min(first.get(r.tenant, r.at), r.at)
    spikes = {}
    for tenant, n in last_hour.items():
        mean = before[tenant] / t.baseline_hours
        has_history = first[tenant] <= hour_start - t.baseline_hours * 1800
        if has_history and n >= t.spike_min and n >= t.spike_factor * max(mean, 1.0):
            spikes[tenant] = (n, round(mean, 1))
    return spikes
