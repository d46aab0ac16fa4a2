"""The governance parts' settings, read from `Settings` (the composition root hands them down)."""

from __future__ import annotations

from app.governance.abuse import Response
from app.governance.abuse_signals import Thresholds
from app.governance.retention import KINDS
from app.settings import Settings


def retention_defaults(s: Settings) -> dict[str, float | None]:
    """Days each kind of data is kept by default (None: until deleted)."""
    return {kind: getattr(s, f"retention_{kind}_days") for kind in KINDS}


def thresholds_of(s: Settings) -> Thresholds:
    """When each abuse signal fires."""
    return Thresholds(
        s.abuse_window_s,
        s.abuse_key_addresses,
        s.abuse_probe_blocks,
        s.abuse_burst_keys,
        s.abuse_burst_slice_s,
        s.abuse_burst_min,
        s.abuse_burst_factor,
        s.abuse_baseline_hours,
        s.abuse_spike_factor,
        s.abuse_spike_min,
    )


def response_of(s: Settings) -> Response:
    """What each signal does, and what a throttle allows for how long."""
    return Response(dict(s.abuse_actions), s.abuse_throttle_s, s.abuse_throttle_rpm)
