"""Verity's own answerability model: a MiniLM cross-encoder that reads (question, sentence) pairs.

`verity eval train-answerability` fine-tunes the packaged all-MiniLM-L6-v2 (its lowest layers frozen) with
a linear head on its mean-pooled token vectors (the pooling MiniLM was trained with), to say whether a
sentence states the answer to a question (SQuAD 2.0 dev half A: answerable questions against the sentence
holding their answer; unanswerable questions against their own paragraph's closest sentence, and
answerable ones against retrieved sentences without the answer). It reads sentences, not whole
passages, so that training fits two CPU cores (pairs of about 60 tokens instead of 200). A question's
score over the passages shown is the best logit over the `CANDIDATES` sentences sharing the most words
with it; the abstainer uses it as the `trained` evidence feature.

The model is a local folder: `model.safetensors` + `config.json` (the encoder), `head.safetensors`, the
tokenizer files, `abstention.json` when trained with a calibration, and `checksums.sha256` (SHA-256 of
every other file). Loading verifies every checksum first and reads only safetensors (never a pickle).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from generation.citations import content_words
from generation.errors import CalibrationInvalid
from retrieval.types import Passage

if TYPE_CHECKING:
    import torch

CHECKSUMS = "checksums.sha256"
HEAD = "head.safetensors"
CALIBRATION = "abstention.json"
"""The abstention model (weights over evidence features, threshold) fitted for this encoder's score."""
MAX_LENGTH = 96
"""Tokens of one (question, sentence) pair; longer sentences are cut."""
CANDIDATES = 4
"""Sentences scored per question: those sharing the most content words with it (keeps the cost bounded)."""
NO_SENTENCE_LOGIT = -30.0
"""The score of passages holding no sentence to read: certainly not answering."""
_SENTENCE = re.compile(r"(?<=[.!?;])\s+")
_MIN_SENTENCE_CHARS = 12


class AnswerabilityModelInvalid(CalibrationInvalid):
    """The answerability model folder is missing, incomplete, or fails its checksums."""


@runtime_checkable
class AnswerabilityScorer(Protocol):
    """Scores how well the passages answer a question (a logit: higher means answerable)."""

    def score(self, question: str, passages: Sequence[Passage]) -> float: ...


def split_sentences(text: str) -> list[str]:
    """The sentences of a passage (fragments shorter than a few words join the next one)."""
    out: list[str] = []
    carry = ""
    for part in _SENTENCE.split(text.strip()):
        part = (carry + " " + part).strip() if carry else part.strip()
        if len(part) < _MIN_SENTENCE_CHARS:
            carry = part
            continue
        out.append(part)
        carry = ""
    if carry:
        out.append(carry)
    return out


def passage_sentences(passages: Sequence[Passage]) -> list[str]:
    """Every sentence of the passages shown, in order."""
    return [s for p in passages for s in split_sentences(p.chunk.text)]


def candidate_sentences(question: str, sentences: Sequence[str], n: int = CANDIDATES) -> list[str]:
    """The n sentences sharing the most content words with the question (earlier first on ties)."""
    wanted = set(content_words(question))
    ranked = sorted(range(len(sentences)), key=lambda i: (-len(wanted & set(content_words(sentences[i]))), i))
    return [sentences[i] for i in ranked[:n]]


def file_sha256(path: Path) -> str:
    """The SHA-256 of a file, read in blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_checksums(folder: Path) -> None:
    """Write `checksums.sha256` (sha256sum format) for every other file of the folder."""
    lines = [
        f"{file_sha256(p)}  {p.name}\n"
        for p in sorted(folder.iterdir())
        if p.is_file() and p.name != CHECKSUMS
    ]
    (folder / CHECKSUMS).write_text("".join(lines))


def verify_checksums(folder: Path) -> None:
    """Raise `AnswerabilityModelInvalid` unless every file of the folder is listed and matches its SHA-256."""
    listing = folder / CHECKSUMS
    if not listing.is_file():
        raise AnswerabilityModelInvalid(
            f"{folder}: no {CHECKSUMS} (train it with verity eval train-answerability)"
        )
    expected: dict[str, str] = {}
    for line in listing.read_text().splitlines():
        digest, _, name = line.strip().partition("  ")
        if not digest or not name or "/" in name:
            raise AnswerabilityModelInvalid(f"{listing}: malformed line {line!r}")
        expected[name] = digest
    present = {p.name for p in folder.iterdir() if p.is_file() and p.name != CHECKSUMS}
    if present != set(expected):
        raise AnswerabilityModelInvalid(
            f"{folder}: files {sorted(present ^ set(expected))} are not as {CHECKSUMS} lists them"
        )
    for name, digest in expected.items():
        if file_sha256(folder / name) != digest:
            raise AnswerabilityModelInvalid(f"{folder / name}: SHA-256 does not match {CHECKSUMS}")
    for required in ("model.safetensors", "config.json", HEAD):
        if required not in expected:
            raise AnswerabilityModelInvalid(f"{folder}: {required} missing")


def _batches(items: Sequence[tuple[str, str]], size: int) -> Iterator[Sequence[tuple[str, str]]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class CrossEncoder:
    """The encoder and its linear head, in memory; scores (question, text) pairs as logits."""

    def __init__(
        self, encoder: Any, head: torch.nn.Linear, tokenizer: Any, max_length: int = MAX_LENGTH
    ) -> None:
        self.encoder = encoder
        self.head = head
        self.tokenizer = tokenizer
        self.max_length = max_length

    def logits(self, pairs: Sequence[tuple[str, str]]) -> torch.Tensor:
        """Logits for a batch of pairs, with gradients when the modules are in training mode."""
        batch = self.tokenizer(
            [q for q, _ in pairs],
            [t for _, t in pairs],
            truncation="longest_first",
            max_length=self.max_length,
            padding=True,
            return_tensors="pt",
        )
        hidden = self.encoder(**batch).last_hidden_state
        mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1.0)
        out: torch.Tensor = self.head(pooled).squeeze(-1)
        return out

    def score_pairs(self, pairs: Sequence[tuple[str, str]], batch_size: int = 32) -> list[float]:
        """Logits for any number of pairs, without gradients."""
        import torch

        self.encoder.eval()
        scores: list[float] = []
        with torch.no_grad():
            for batch in _batches(pairs, batch_size):
                scores += [float(v) for v in self.logits(batch)]
        return scores

    def score(self, question: str, passages: Sequence[Passage]) -> float:
        """The best logit over the candidate sentences of the passages (very low when there are none)."""
        return self.score_sentences(question, passage_sentences(passages))

    def score_sentences(self, question: str, sentences: Sequence[str]) -> float:
        """The best logit over the sentences closest to the question (`candidate_sentences`)."""
        chosen = candidate_sentences(question, sentences)
        if not chosen:
            return NO_SENTENCE_LOGIT
        return max(self.score_pairs([(question, s) for s in chosen]))

    def rerank(self, query: str, passages: Sequence[Passage]) -> list[Passage]:
        """The passages best first by their best candidate sentence's logit (kept as 'rerank'): the
        `retrieval.rerank.Reranker` seam, one batch of pairs for all passages."""
        chosen = [candidate_sentences(query, split_sentences(p.chunk.text)) for p in passages]
        logits = iter(self.score_pairs([(query, s) for sentences in chosen for s in sentences]))
        best = [max((next(logits) for _ in sentences), default=NO_SENTENCE_LOGIT) for sentences in chosen]
        scored = [
            replace(p, score=b, scores={**p.scores, "rerank": b}) for p, b in zip(passages, best, strict=True)
        ]
        return sorted(scored, key=lambda p: -p.score)

    def save(self, folder: Path) -> None:
        """Write the model folder (safetensors only) and its checksums."""
        from safetensors.torch import save_file

        folder.mkdir(parents=True, exist_ok=True)
        self.encoder.save_pretrained(folder, safe_serialization=True)
        self.tokenizer.save_pretrained(folder)
        save_file({k: v.contiguous() for k, v in self.head.state_dict().items()}, str(folder / HEAD))
        write_checksums(folder)


def is_model_folder(location: str) -> bool:
    """Whether a path names a folder in this module's format (rather than a sentence-transformers model)."""
    folder = Path(location)
    return (folder / CHECKSUMS).is_file() and (folder / HEAD).is_file()


def load_cross_encoder(folder: Path) -> CrossEncoder:
    """Load a trained answerability model after verifying its checksums (safetensors only)."""
    if not folder.is_dir():
        raise AnswerabilityModelInvalid(
            f"{folder}: no answerability model (train it with verity eval train-answerability)"
        )
    verify_checksums(folder)
    import torch
    from safetensors.torch import load_file
    from transformers import AutoModel, AutoTokenizer

    try:
        encoder = AutoModel.from_pretrained(str(folder), use_safetensors=True, local_files_only=True)
        tokenizer = AutoTokenizer.from_pretrained(str(folder), local_files_only=True)
        state = load_file(str(folder / HEAD))
    except (OSError, ValueError) as exc:
        raise AnswerabilityModelInvalid(f"{folder}: cannot load the answerability model ({exc})") from exc
    head = torch.nn.Linear(int(encoder.config.hidden_size), 1)
    head.load_state_dict(state)
    encoder.eval()
    return CrossEncoder(encoder, head, tokenizer)
