"""kb: a podcast knowledge base. The library API lives in `core.knowledge_base`."""
