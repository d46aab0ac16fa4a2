"""The composition root: settings, CLI, HTTP service."""
