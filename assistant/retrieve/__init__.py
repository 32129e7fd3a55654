"""Retrieval: from a question to ranked passages (hybrid dense and lexical search, date filters), and what the
index holds. Must not choose answers or cite, and must not import ``answer/``, ``llm/`` or adapters."""
