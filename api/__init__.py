"""Thin interfaces over core.knowledge_base: the HTTP app and the CLI."""
