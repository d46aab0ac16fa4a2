"""The shipped safety heads: where they live and how they are loaded."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from generation.safety.heads import LinearHead, load_head

WEIGHTS_DIR = Path(__file__).parent / "weights"
HEAD_NAMES = ("injection", "harm", "context_injection", "harm_screen")


@dataclass(frozen=True)
class SafetyHeads:
    """The trained heads: injection, harm, planted instructions, and the n-gram screen for harm in answers."""

    injection: LinearHead
    harm: LinearHead
    context_injection: LinearHead
    harm_screen: LinearHead


def load_heads(directory: Path = WEIGHTS_DIR) -> SafetyHeads:
    """Load the heads written by `verity safety train` (shipped under generation/safety/weights)."""
    return SafetyHeads(*(load_head(directory / f"{name}.npz") for name in HEAD_NAMES))
