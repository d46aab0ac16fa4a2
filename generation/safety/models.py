"""The shipped safety heads: where they live and how they are loaded."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from generation.safety.escalation import EscalationHead, load_escalation
from generation.safety.heads import LinearHead, load_head

WEIGHTS_DIR = Path(__file__).parent / "weights"
HEAD_NAMES = ("injection", "harm", "context_injection", "harm_screen")
ESCALATED = ("injection", "harm")
"""Input categories that may have a second stage, stored as `<category>_escalation.npz`."""


@dataclass(frozen=True)
class SafetyHeads:
    """The trained heads: injection, harm, planted instructions, and the n-gram screen for harm in answers."""

    injection: LinearHead
    harm: LinearHead
    context_injection: LinearHead
    harm_screen: LinearHead
    escalations: dict[str, EscalationHead] = field(default_factory=dict)


def load_heads(directory: Path = WEIGHTS_DIR) -> SafetyHeads:
    """Load the heads written by `verity safety train` (shipped under generation/safety/weights), with
    the second stages that were trained."""
    injection, harm, context_injection, harm_screen = (load_head(directory / f"{n}.npz") for n in HEAD_NAMES)
    escalations = {
        name: load_escalation(path)
        for name in ESCALATED
        if (path := directory / f"{name}_escalation.npz").is_file()
    }
    return SafetyHeads(injection, harm, context_injection, harm_screen, escalations)
