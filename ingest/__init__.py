"""Ingestion: loading files into elements, chunking them, and filing them in the retrieval index."""
