"""The `VectorStore` seam: add, delete and search vectors by integer chunk id, and persist them."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from pathlib import Path
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

from retrieval.types import Hit


class VectorStore(Protocol):
    """Vectors keyed by chunk id, searched by inner product (vectors are unit length)."""

    @property
    def dimension(self) -> int: ...

    def __len__(self) -> int: ...

    def add(self, ids: Sequence[int], vectors: NDArray[np.float32]) -> None: ...

    def delete(self, ids: Sequence[int]) -> None: ...

    def search(
        self, vector: NDArray[np.float32], k: int, allowed: Collection[int] | None = None
    ) -> list[Hit]: ...

    def save(self, path: Path) -> None: ...
