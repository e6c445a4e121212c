"""kb: a podcast knowledge base. The library API lives in `kb.library`."""
