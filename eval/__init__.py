"""Evaluation: datasets, metrics, retrieval runs, reports and plots. Import as `from eval import ...`."""
