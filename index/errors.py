"""The project's exception tree.

Every problem a user can cause or fix is one of these, carrying a one-line message that says what to do.
Adapters translate them into their own form (exit code, HTTP status, ``gr.Error``, a Slack reply); the core
never swallows them. The tree lives here, at the bottom of the dependency graph, so that ``index`` can raise
without importing ``assistant``; ``assistant.errors`` re-exports it and adds the question-side errors.
Must not import chromadb or any other project module.

    BriefingsError
    ├── CorpusError
    │   ├── CorpusNotFound        a path given to ingest does not exist
    │   ├── EmptyCorpus           nothing loadable was found
    │   └── (index.formats) UnreadableDocument   a PDF, Word or e-mail file whose text cannot be read
    ├── IndexProblem
    │   ├── IndexMissing          no index yet: run ingest
    │   ├── IndexDamaged          the index cannot be read: rebuild it
    │   ├── EmbeddingMismatch     the index was built with another embedding model
    │   └── IndexLocked           another ingest is writing
    ├── UnknownArticle            an article id the index does not hold (remove, open)
    ├── StoreUnavailable          the Chroma server cannot be reached
    ├── ConfigurationError        a setting is invalid (bad model path, bad LLM spec, ...)
    └── (assistant.errors) QuestionError, AnswerBackendError
"""

from __future__ import annotations


class BriefingsError(Exception):
    """A problem the user can act on; ``str(error)`` is a complete one-line message."""


class CorpusError(BriefingsError):
    """The files given to ingest cannot be used."""


class CorpusNotFound(CorpusError):
    """A corpus path does not exist."""


class EmptyCorpus(CorpusError):
    """No loadable article was found under the given paths."""


class IndexProblem(BriefingsError):
    """The index cannot serve the request."""


class IndexMissing(IndexProblem):
    """No index has been built at the configured location."""


class IndexDamaged(IndexProblem):
    """The index exists but cannot be read."""


class EmbeddingMismatch(IndexProblem):
    """The configured embedding model differs from the one that built the index."""


class IndexLocked(IndexProblem):
    """Another ingest holds the write lock."""


class UnknownArticle(BriefingsError):
    """An article id was named that the index does not hold; raised before anything is changed."""


class StoreUnavailable(BriefingsError):
    """The Chroma server does not answer."""


class ConfigurationError(BriefingsError):
    """A setting has a value that cannot work."""
