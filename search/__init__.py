"""Embedding, the store and vector index, retrieval and answering."""
