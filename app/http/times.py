"""The one time format of API responses: ISO 8601 in UTC with an offset ("2026-12-02T08:41:40+00:00").

Records keep Unix seconds where they compute with time (jobs, the gateway's ledger); response models
declare their times as `IsoTime`, which renders a number of Unix seconds (or passes an ISO string
through). OpenAI's own `created` fields stay Unix seconds, as OpenAI's clients expect.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from pydantic import BeforeValidator


def iso_time(value: object) -> object:
    """Unix seconds as an ISO 8601 UTC string; strings (already ISO) and None pass through."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return value
    return datetime.fromtimestamp(float(value), UTC).isoformat(timespec="seconds")


IsoTime = Annotated[str, BeforeValidator(iso_time)]
