"""Thin interfaces over kb.library: the HTTP app and the CLI."""
