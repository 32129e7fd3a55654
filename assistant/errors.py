"""The project's exception tree, as adapters import it (see ``index.errors`` for the drawing).

Question-side errors are added here:

    BriefingsError
    ├── ... (index.errors)
    ├── QuestionError
    │   ├── EmptyQuestion        nothing but whitespace
    │   └── QuestionTooLong      over the configured limit
    └── AnswerBackendError      an LLM backend is misconfigured (missing package, bad spec)
"""

from __future__ import annotations

from index.errors import (
    BriefingsError,
    ConfigurationError,
    CorpusError,
    CorpusNotFound,
    EmbeddingMismatch,
    EmptyCorpus,
    IndexDamaged,
    IndexLocked,
    IndexMissing,
    IndexProblem,
    StoreUnavailable,
)


class QuestionError(BriefingsError):
    """The question itself cannot be answered as given."""


class EmptyQuestion(QuestionError):
    """The question is empty or only whitespace."""


class QuestionTooLong(QuestionError):
    """The question exceeds the configured length."""


class AnswerBackendError(BriefingsError):
    """The configured answer backend cannot be used."""


__all__ = [
    "AnswerBackendError",
    "BriefingsError",
    "ConfigurationError",
    "CorpusError",
    "CorpusNotFound",
    "EmbeddingMismatch",
    "EmptyCorpus",
    "EmptyQuestion",
    "IndexDamaged",
    "IndexLocked",
    "IndexMissing",
    "IndexProblem",
    "QuestionError",
    "QuestionTooLong",
    "StoreUnavailable",
]
