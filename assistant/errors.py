"""The project's exception tree, as adapters import it (see ``index.errors`` for the drawing).

Question-side and upload errors are added here:

    BriefingsError
    ├── ... (index.errors)
    ├── CorpusError (index.errors)
    │   └── DocumentRejected     an uploaded file is not a briefing (binary, empty, wrong type)
    ├── QuestionError
    │   ├── EmptyQuestion        nothing but whitespace
    │   ├── QuestionTooLong      over the configured limit
    │   └── AnswerModeNotAllowed a request asked for an answer mode the operator did not enable
    ├── AnswerBackendError      an LLM backend is misconfigured (missing package, bad spec)
    └── ConfigurationError (index.errors)
        └── ReaderUnavailable   the reader model is missing or does not match (rebuild: make train-reader)
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
    UnknownArticle,
)


class QuestionError(BriefingsError):
    """The question itself cannot be answered as given."""


class EmptyQuestion(QuestionError):
    """The question is empty or only whitespace."""


class QuestionTooLong(QuestionError):
    """The question exceeds the configured length."""


class AnswerModeNotAllowed(QuestionError):
    """A request named an answer mode (``llm``) that the server's settings do not offer."""


class AnswerBackendError(BriefingsError):
    """The configured answer backend cannot be used."""


class ReaderUnavailable(ConfigurationError):
    """The reader model's files are missing, damaged or of another format than this code reads."""


class DocumentRejected(CorpusError):
    """An uploaded file cannot become a briefing; nothing was saved or indexed."""


__all__ = [
    "AnswerBackendError",
    "AnswerModeNotAllowed",
    "BriefingsError",
    "ConfigurationError",
    "CorpusError",
    "CorpusNotFound",
    "DocumentRejected",
    "EmbeddingMismatch",
    "EmptyCorpus",
    "EmptyQuestion",
    "IndexDamaged",
    "IndexLocked",
    "IndexMissing",
    "IndexProblem",
    "QuestionError",
    "QuestionTooLong",
    "ReaderUnavailable",
    "StoreUnavailable",
    "UnknownArticle",
]
