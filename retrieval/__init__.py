"""Retrieval: embedders, the document/chunk catalog, vector stores, BM25, fusion, rerank, context packing."""
