"""The extractive answer step: evidence, answer spans, abstention and citations checked against stored text.
Must not import ``llm/`` (which builds on this package, not the other way round), chromadb or adapters."""
