"""The FAISS index kinds Verity builds (flat, HNSW, IVF-PQ with an exact refine) and how each is searched.

Shared by the FAISS store and bench/vector_search.py, so the benchmark measures the indexes the
product builds. Every index is keyed by position (0..n-1); the store maps positions to chunk ids.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal, cast

import faiss
import numpy as np
from numpy.typing import NDArray

# faiss's bundled stubs lack the SWIG search-parameter classes, their keyword arguments and the
# IndexRefine fields: those go through this untyped alias
_faiss: Any = faiss

FaissKind = Literal["flat", "hnsw", "ivfpq"]
FAISS_KINDS: tuple[FaissKind, ...] = ("flat", "hnsw", "ivfpq")


@dataclass(frozen=True)
class FaissParams:
    """Build and search parameters of a FAISS index kind."""

    kind: FaissKind = "flat"
    hnsw_m: int = 32
    ef_construction: int = 80
    ef_search: int = 128  # recall@10 0.999 at 100k, 0.980 at 1M (bench/vector_search.py)
    nlist: int | None = None  # IVF lists; None: about 2 * sqrt(n) at training time
    pq_m: int | None = None  # PQ sub-quantizers of 8 bits; None: dimension / 8 (48 bytes at 384-d)
    nprobe: int = 16  # with refine_factor 32: recall@10 0.97 at 100k (bench/vector_search.py)
    refine_factor: int = 32  # IVF-PQ candidates re-scored exactly: k * refine_factor
    train_min: int = 20_000  # IVF-PQ trains once the store holds this many vectors; exact before
    exact_below: int = 2_048  # an approximate index searches filters admitting fewer vectors exactly
    gpu: bool = False  # flat only: searches that need no selector run on a GPU copy (faiss-gpu)

    @property
    def approximate(self) -> bool:
        """Whether searches may miss true neighbours."""
        return self.kind != "flat"


def pq_subquantizers(dimension: int, requested: int | None) -> int:
    """The PQ sub-quantizer count: the request, or the largest divisor of the dimension up to d/8."""
    if requested is not None:
        if dimension % requested:
            raise ValueError(f"pq_m={requested} does not divide the dimension {dimension}")
        return requested
    target = max(1, dimension // 8)
    return next(m for m in range(target, 0, -1) if dimension % m == 0)


def ivf_lists(n: int, requested: int | None) -> int:
    """IVF list count: the request, or about 2 * sqrt(n) with at least 39 training points per list."""
    lists = requested if requested is not None else int(2 * math.sqrt(n))
    return max(1, min(lists, n // 39))


def build_index(params: FaissParams, vectors: NDArray[np.float32]) -> faiss.Index:
    """A new index of the kind holding `vectors` at positions 0..n-1 (IVF-PQ trains on them first)."""
    dimension = vectors.shape[1]
    index: faiss.Index
    if params.kind == "hnsw":
        hnsw = faiss.IndexHNSWFlat(dimension, params.hnsw_m, faiss.METRIC_INNER_PRODUCT)
        hnsw.hnsw.efConstruction = params.ef_construction
        index = hnsw
    elif params.kind == "ivfpq" and len(vectors) >= params.train_min:
        quantizer = faiss.IndexFlatIP(dimension)
        m = pq_subquantizers(dimension, params.pq_m)
        ivf = _faiss.IndexIVFPQ(
            quantizer, dimension, ivf_lists(len(vectors), params.nlist), m, 8, faiss.METRIC_INNER_PRODUCT
        )
        ivf.train(vectors)
        index = faiss.IndexRefineFlat(ivf)  # the Python wrapper keeps `ivf` referenced
    else:
        index = faiss.IndexFlatIP(dimension)
    if len(vectors):
        index.add(np.ascontiguousarray(vectors, dtype=np.float32))
    return index


def gpu_copy(index: faiss.Index) -> faiss.Index:
    """The index cloned onto GPU 0 (FAISS GPU indexes take no id selector: unfiltered searches only)."""
    if not hasattr(faiss, "StandardGpuResources") or faiss.get_num_gpus() == 0:
        raise RuntimeError("a FAISS GPU index needs faiss-gpu and a CUDA GPU")
    resources = faiss.StandardGpuResources()
    clone: Any = faiss.index_cpu_to_gpu(resources, 0, index)
    clone.referenced_objects = [resources]  # keep the resources alive as long as the clone
    return cast(faiss.Index, clone)


def is_trained_ivfpq(index: faiss.Index) -> bool:
    """Whether the index is the trained IVF-PQ (an untrained IVF-PQ store is still flat)."""
    return isinstance(index, faiss.IndexRefine)


def search_parameters(
    params: FaissParams, index: faiss.Index, selector: faiss.IDSelector | None
) -> faiss.SearchParameters:
    """Search parameters for this index: its efSearch or nprobe and refine, and an optional selector."""
    if isinstance(index, faiss.IndexHNSW):
        hnsw: faiss.SearchParameters = _faiss.SearchParametersHNSW(sel=selector, efSearch=params.ef_search)
        return hnsw
    if is_trained_ivfpq(index):
        base = _faiss.SearchParametersIVF(sel=selector, nprobe=params.nprobe)
        refine: faiss.SearchParameters = _faiss.IndexRefineSearchParameters(
            k_factor=params.refine_factor, base_index_params=base
        )
        return refine
    plain: faiss.SearchParameters = _faiss.SearchParameters(sel=selector)
    return plain


def search_index(
    params: FaissParams,
    index: faiss.Index,
    queries: NDArray[np.float32],
    k: int,
    selector: faiss.IDSelector | None = None,
) -> tuple[NDArray[np.float32], NDArray[np.int64]]:
    """Scores and positions of the k best rows for each query (-1 where fewer exist)."""
    queries = np.ascontiguousarray(queries, dtype=np.float32)
    scores, positions = index.search(queries, k, params=search_parameters(params, index, selector))
    return scores, positions


def reconstruct_all(index: faiss.Index) -> NDArray[np.float32]:
    """Every stored vector, by position (exact for flat, HNSW-flat and the refine's flat copy)."""
    if index.ntotal == 0:
        return np.zeros((0, index.d), dtype=np.float32)
    source = exact_vectors(index)
    return np.asarray(source.reconstruct_n(0, source.ntotal), dtype=np.float32)


def exact_vectors(index: faiss.Index) -> faiss.Index:
    """The index that holds the exact vectors: the refine's flat copy for IVF-PQ, else the index."""
    if is_trained_ivfpq(index):
        refine: faiss.Index = faiss.downcast_index(_faiss.downcast_index(index).refine_index)
        return refine
    return index
