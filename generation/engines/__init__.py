"""LLM engines behind one `Engine` protocol."""
