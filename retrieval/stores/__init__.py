"""Vector stores behind one `VectorStore` protocol."""
