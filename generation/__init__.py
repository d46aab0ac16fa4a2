"""Generation: the LLM engine, prompts, citations and the answer pipeline."""
