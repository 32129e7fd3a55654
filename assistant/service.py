"""The one :class:`BriefingService` that the CLI, HTTP API, UI, Slack and eval all call.

It owns the expensive objects (embedder, store, lexical index) and loads them once, on first use or at
start-up through :meth:`warm_up`, so no request pays for them. Adapters only translate: they never reach
past the service into retrieval or the index.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from threading import Lock, RLock
from typing import Literal

from assistant.answer_types import question_shape
from assistant.answering import DEFAULT_ABSTAIN_BELOW, Answer, extract_answer
from assistant.chat import Turn, standalone_question
from assistant.config import Settings
from assistant.errors import AnswerBackendError, EmptyQuestion, QuestionError, QuestionTooLong
from assistant.evidence import ArticleTexts, gather, score
from assistant.retrieval import HybridRetriever, LiveLexicalIndex
from index.embedding import Embedder, load_embedder
from index.ingest import IngestReport, ProgressFactory, ingest, silent_progress
from index.lexical import lexical_folder
from index.store import ArticleRecord, ChunkStore

log = logging.getLogger(__name__)

_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
History = Iterable[Mapping[str, str] | Turn] | None


@dataclass(frozen=True)
class IndexStats:
    """What the UI header and ``/healthz`` show."""

    articles: int
    chunks: int
    first_date: str | None
    last_date: str | None
    embedding_model: str
    location: str


@dataclass(frozen=True)
class StreamEvent:
    """One step of a streamed answer: ``delta`` carries text, ``answer`` the finished :class:`Answer`."""

    kind: Literal["delta", "answer"]
    text: str = ""
    answer: Answer | None = None


@dataclass(frozen=True)
class ArticleView:
    """An article as the UI shows it when a citation is opened."""

    doc: str
    title: str
    date: str | None
    text: str


class BriefingService:
    """Questions in, cited answers out; also ingest for the UI's upload."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._load_lock = RLock()
        self._write_lock = Lock()

    # ------------------------------------------------------------------------------- loaded once
    @cached_property
    def embedder(self) -> Embedder:
        with self._load_lock:
            return load_embedder(self.settings.embedding_model, self.settings.embedding_backend, self.settings.model_dir)

    @cached_property
    def store(self) -> ChunkStore:
        with self._load_lock:
            return ChunkStore.open(self.settings.location, self.embedder)

    @cached_property
    def _lexical(self) -> LiveLexicalIndex:
        with self._load_lock:
            return LiveLexicalIndex(self.store, lexical_folder(self.settings.index))

    @cached_property
    def retriever(self) -> HybridRetriever:
        return HybridRetriever(
            self.store, self._lexical, self.embedder, self.settings.candidates, self.settings.max_chunks_per_article
        )

    @cached_property
    def articles(self) -> ArticleTexts:
        return ArticleTexts(self.store.article_text)

    def warm_up(self) -> None:
        """Load everything now (server start-up), so the first question is as fast as the rest."""
        _ = self.retriever.lexical
        self.embedder.embed_query("warm up")

    # ----------------------------------------------------------------------------------- asking
    def ask(
        self,
        question: str,
        history: History = None,
        since: str | None = None,
        until: str | None = None,
        llm: str | None = None,
    ) -> Answer:
        """Answer one question (with optional chat history and date bounds).

        ``llm`` overrides the configured answer mode for this question (``extractive``, ``openai:MODEL``,
        ``ollama:MODEL``).
        """
        mode = llm or self.settings.llm
        if mode != "extractive":
            raise AnswerBackendError(f"Answer mode {mode!r} is not available: use extractive")
        return self._extractive(question, history, since, until)

    def stream(
        self,
        question: str,
        history: History = None,
        since: str | None = None,
        until: str | None = None,
        llm: str | None = None,
    ) -> Iterator[StreamEvent]:
        """The answer as it is produced: text deltas, then one final event carrying the whole answer.

        Extractive answers arrive in one delta; LLM answers token by token. Citations come with the final event.
        """
        answer = self.ask(question, history, since, until, llm)
        yield StreamEvent("delta", text=answer.answer)
        yield StreamEvent("answer", answer=answer)

    def _extractive(self, question: str, history: History, since: str | None, until: str | None) -> Answer:
        question = self.validate(question)
        since, until = _valid_date(since, "since"), _valid_date(until, "until")
        started = time.perf_counter()
        query = standalone_question(question, history)
        passages = self.retriever.retrieve(query, self.settings.passages, since, until)
        retrieved = time.perf_counter()
        shape = question_shape(question)
        candidates = gather(passages, self.articles, self.settings.evidence_passages)
        ranked = score(candidates, question, query, shape, self.embedder, self.retriever.lexical)
        threshold = self.settings.abstain_below if self.settings.abstain_below is not None else DEFAULT_ABSTAIN_BELOW
        extracted = extract_answer(ranked, shape, query, self.articles, threshold)
        finished = time.perf_counter()
        return Answer(
            question=question,
            answer=extracted.text,
            abstained=extracted.abstained,
            citations=extracted.citations,
            passages=tuple(passages),
            mode="extractive",
            timings_ms={
                "retrieve": (retrieved - started) * 1000,
                "answer": (finished - retrieved) * 1000,
                "total": (finished - started) * 1000,
            },
            confidence=extracted.confidence,
            standalone_question=query,
        )

    def validate(self, question: str) -> str:
        """The question, trimmed; empty or over-long questions raise with a message that says so."""
        text = (question or "").strip()
        if not text:
            raise EmptyQuestion("The question is empty: type a question about the briefings")
        if len(text) > self.settings.max_question_chars:
            raise QuestionTooLong(
                f"The question is {len(text)} characters long; the limit is {self.settings.max_question_chars}"
            )
        return text

    # ------------------------------------------------------------------------------ the index
    def stats(self) -> IndexStats:
        records = self.store.article_records().values()
        dates = sorted(record.date for record in records if record.date)
        articles, chunks = self.store.counts()
        return IndexStats(
            articles=articles,
            chunks=chunks,
            first_date=dates[0] if dates else None,
            last_date=dates[-1] if dates else None,
            embedding_model=self.store.embedding_model,
            location=self.settings.location.describe(),
        )

    def article(self, doc: str) -> ArticleView | None:
        record: ArticleRecord | None = self.store.article_records().get(doc)
        text = self.articles.text(doc)
        if record is None or text is None:
            return None
        return ArticleView(doc, record.title, record.date, text)

    def ingest(
        self, paths: Sequence[Path], prune: bool = False, progress: ProgressFactory = silent_progress
    ) -> IngestReport:
        """Index files and make them answerable at once in this process."""
        with self._write_lock:
            report = ingest(paths, self.settings.location, self.embedder, self.settings.chunking, prune, progress)
            if report.changed and "store" in self.__dict__:
                self._lexical.refresh()
                self.articles.forget()
            return report


def _valid_date(value: str | None, name: str) -> str | None:
    if value is None or value == "":
        return None
    if not _ISO_DATE.match(value):
        raise QuestionError(f"--{name} must be a date as YYYY-MM-DD, not {value!r}")
    return value
