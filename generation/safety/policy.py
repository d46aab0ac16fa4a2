"""What to do about each category of finding: block, flag, redact or allow.

Categories and what their actions mean:
- `injection`, `harm` (the question): block refuses; flag answers and reports.
- `context_injection` (a retrieved passage): block quarantines the passage (the model never sees it);
  flag shows it to the model only as quoted, untrusted data.
- `output_harm`, `injection_followed` (the answer): block withholds the answer.
- `pii` (question and answer): redact replaces each span with `[ENTITY]`; block refuses.
Per-tenant storage is the gateway's job: a policy is a value handed to the filters.

By default questions asking for harm are refused and planted passages are quarantined; an injection
attempt in a question, findings in the answer and PII anywhere are flagged. Injections in questions are
flagged rather than refused because the injection head also fires on ordinary "explain step by step"
questions (README, Safety), and a user's own question attacks only that user's answer, while planted
passages, which attack every reader, are quarantined. The answer streams as it is generated; blocking or
redacting an answer category holds it back until it has been checked.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from generation.safety.errors import SafetyPolicyError


class Action(StrEnum):
    """What a finding in a category leads to."""

    BLOCK = "block"
    FLAG = "flag"
    REDACT = "redact"
    ALLOW = "allow"


CATEGORIES = ("injection", "harm", "context_injection", "output_harm", "injection_followed", "pii")
DEFAULT_ACTIONS = {
    "injection": Action.FLAG,
    "harm": Action.BLOCK,
    "context_injection": Action.BLOCK,
    "output_harm": Action.FLAG,
    "injection_followed": Action.FLAG,
    "pii": Action.FLAG,
}


@dataclass(frozen=True)
class SafetyPolicy:
    """An action per category; categories not named take the default."""

    actions: dict[str, Action] = field(default_factory=lambda: dict(DEFAULT_ACTIONS))

    def action(self, category: str) -> Action:
        """The action for `category`."""
        return self.actions.get(category, DEFAULT_ACTIONS[category])

    def holds_output(self) -> bool:
        """True when an answer may need withholding or redacting, so it cannot stream before it is checked."""
        output = ("output_harm", "injection_followed", "pii")
        return any(self.action(c) in (Action.BLOCK, Action.REDACT) for c in output)


def parse_policy(spec: str) -> SafetyPolicy:
    """A policy from `category=action` pairs separated by commas, e.g. `pii=flag,harm=block`."""
    actions = dict(DEFAULT_ACTIONS)
    for item in filter(None, (part.strip() for part in spec.split(","))):
        category, _, name = item.partition("=")
        category = category.strip()
        if category not in CATEGORIES:
            raise SafetyPolicyError(f"unknown safety category {category!r}; known: {', '.join(CATEGORIES)}")
        try:
            actions[category] = Action(name.strip())
        except ValueError as exc:
            known = ", ".join(a.value for a in Action)
            raise SafetyPolicyError(f"unknown action {name!r} for {category}; known: {known}") from exc
    return SafetyPolicy(actions)
