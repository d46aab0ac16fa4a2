"""The safety gate: runs the filters at the question, the retrieved passages and the answer, applies a
policy, and reports every decision. Classifier results are cached by content hash, so a passage already
scanned (at ingest or by an earlier question) costs nothing the next time it is retrieved. With a verdict
store (a `PassageScanner` built with one), passage scans outlive the process: chunks scanned at ingest
are lookups at query time."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

from generation.safety.cache import ContentCache
from generation.safety.context import ContextFilter, PassageScan, quote_as_data
from generation.safety.input import Finding, InputFilter
from generation.safety.output import OutputFilter
from generation.safety.pii import PiiDetector, PiiSpan, redact
from generation.safety.policy import Action, SafetyPolicy
from generation.safety.scanner import PassageScanner
from retrieval.types import Passage

REFUSAL = "This request was blocked by the safety policy."
WITHHELD = "The answer was withheld by the safety policy."


@dataclass(frozen=True)
class SafetyDecision:
    """One check's outcome: where, what, how sure, and what the policy did about it."""

    stage: str
    category: str
    score: float
    flagged: bool
    action: str

    @property
    def blocks(self) -> bool:
        """True when this decision stops the request or the answer."""
        return self.flagged and self.action == Action.BLOCK


@dataclass(frozen=True)
class TextVerdict:
    """The decisions on a question or answer, and the text to go on with (redacted when so decided)."""

    decisions: list[SafetyDecision]
    text: str

    @property
    def blocked(self) -> bool:
        """True when any decision blocks."""
        return any(d.blocks for d in self.decisions)


@dataclass(frozen=True)
class ContextVerdict:
    """Passages to show the model (quarantined ones removed, flagged ones quoted) and the decisions."""

    decisions: list[SafetyDecision]
    passages: list[Passage]
    planted: list[str]
    trusted: list[str]


class SafetyGate:
    """Input, context and output filters under one policy, with results cached by content hash."""

    def __init__(
        self,
        input_filter: InputFilter,
        context_filter: ContextFilter,
        output_filter: OutputFilter,
        pii: PiiDetector | None,
        policy: SafetyPolicy,
        cache_entries: int = 10_000,
        scanner: PassageScanner | None = None,
    ) -> None:
        self._input = input_filter
        self._context = context_filter
        self._output = output_filter
        self._pii = pii
        self.policy = policy
        self._findings: ContentCache[list[Finding]] = ContentCache(cache_entries)
        self._spans: ContentCache[list[PiiSpan]] = ContentCache(cache_entries)
        self._scanner = scanner or PassageScanner(context_filter, None, cache_entries)

    def check_question(self, text: str, policy: SafetyPolicy | None = None) -> TextVerdict:
        """Injection, harm and PII decisions on a question or chat message."""
        policy = policy or self.policy
        findings = self._findings.get_or_compute("input", text, self._input.check)
        decisions = [_decide("input", f, policy) for f in findings]
        return self._with_pii("input", text, decisions, policy)

    def redact_pii(self, text: str, policy: SafetyPolicy | None = None) -> str:
        """`text` with its PII replaced when the policy redacts PII, else as it is (for text that was
        checked before, such as a conversation's earlier questions)."""
        policy = policy or self.policy
        if policy.action("pii") != Action.REDACT:
            return text
        return self._with_pii("input", text, [], policy).text

    def check_passages(
        self, passages: Sequence[Passage], policy: SafetyPolicy | None = None
    ) -> ContextVerdict:
        """Scan retrieved passages; quarantine (block) or quote (flag) those holding planted instructions."""
        policy = policy or self.policy
        action = policy.action("context_injection")
        decisions: list[SafetyDecision] = []
        kept: list[Passage] = []
        planted: list[str] = []
        trusted: list[str] = []
        scans = self._scanner.scan([p.chunk.text for p in passages])
        for passage, scan in zip(passages, scans, strict=True):
            decision = _decide("context", Finding("context_injection", scan.score, scan.flagged), policy)
            decisions.append(decision)
            if not scan.flagged or action == Action.ALLOW:
                kept.append(passage)
                trusted.append(passage.chunk.text)
                continue
            planted.extend(scan.flagged_segments)
            if action != Action.BLOCK:
                kept.append(_quoted(passage))
        return ContextVerdict(decisions, kept, planted, trusted)

    def check_scanned(self, text: str) -> PassageScan:
        """The context filter's scan of one text (cached), e.g. a chunk at ingest."""
        return self._scanner.scan([text])[0]

    def check_answer(
        self, answer: str, context: ContextVerdict | None, policy: SafetyPolicy | None = None
    ) -> TextVerdict:
        """Harm, followed-injection and PII decisions on an answer; the text to show under the policy."""
        policy = policy or self.policy
        harm = self._findings.get_or_compute("output", answer, lambda a: [self._output.harm(a)])
        planted, trusted = (context.planted, context.trusted) if context else ([], [])
        findings = [*harm, self._output.followed(answer, planted, trusted)]
        decisions = [_decide("output", f, policy) for f in findings]
        verdict = self._with_pii("output", answer, decisions, policy)
        return TextVerdict(verdict.decisions, WITHHELD if verdict.blocked else verdict.text)

    def _with_pii(
        self, stage: str, text: str, decisions: list[SafetyDecision], policy: SafetyPolicy
    ) -> TextVerdict:
        if self._pii is None or policy.action("pii") == Action.ALLOW:
            return TextVerdict(decisions, text)
        spans = self._spans.get_or_compute("pii", text, self._pii.find)
        score = max((s.score for s in spans), default=0.0)
        decision = _decide(stage, Finding("pii", score, bool(spans)), policy)
        redacted = redact(text, spans) if decision.flagged and decision.action == Action.REDACT else text
        return TextVerdict([*decisions, decision], redacted)


def _decide(stage: str, finding: Finding, policy: SafetyPolicy) -> SafetyDecision:
    category = "output_harm" if stage == "output" and finding.category == "harm" else finding.category
    action = policy.action(category).value if finding.flagged else "none"
    return SafetyDecision(stage, category, round(finding.score, 4), finding.flagged, action)


def _quoted(passage: Passage) -> Passage:
    chunk = dataclasses.replace(passage.chunk, text=quote_as_data(passage.chunk.text))
    return dataclasses.replace(passage, chunk=chunk)
