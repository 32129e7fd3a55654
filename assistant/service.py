"""The one :class:`BriefingService` that the CLI, HTTP API, UI, Slack and eval all call.

It owns the expensive objects (embedder, store, lexical index) and loads them once, on first use or at
start-up through :meth:`warm_up`, so no request pays for them. Adapters only translate: they never reach
past the service into retrieval or the index. Wiring only: the steps live in ``answer/``, ``llm/``,
``retrieve/`` and :mod:`assistant.uploads` (names adapters import from here are re-exported); it must not
score, extract, check uploads or read the environment itself, and must not import adapters.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import date
from functools import cached_property
from pathlib import Path
from threading import Lock, RLock

from assistant import doctor, library
from assistant.answer import pipeline
from assistant.answer.confidence import Model, load_model
from assistant.answer.conversation import History, Turn
from assistant.answer.evidence import ArticleTexts, Candidate
from assistant.answer.extractive import Extracted
from assistant.answer.reader import MODEL_DIR, Reader
from assistant.answer.streaming import AnswerRun, StreamEvent, events_of_run, events_of_whole, run_to_end
from assistant.digest.build import DigestRequest, build_digest
from assistant.digest.intent import digest_request_in
from assistant.digest.model import Digest, DigestItem
from assistant.doctor import Check
from assistant.library import Briefing, LibraryPage, Removed
from assistant.llm.modes import EXTRACTIVE, LlmAnswerers, chosen_mode
from assistant.retrieve.catalogue import ArticleView, IndexStats, article_view, index_stats
from assistant.retrieve.hybrid import HybridRetriever, LiveLexicalIndex
from assistant.settings import Settings
from assistant.types import Answer, Passage
from assistant.uploads import FORMATS, MAX_UPLOAD_BYTES, AddedDocument, add_upload, upload_file_name
from index.embedding import Embedder, load_embedder
from index.ingest import IngestReport, ProgressFactory, ingest, silent_progress
from index.lexical import lexical_folder
from index.removal import articles_from
from index.store import ChunkStore

__all__ = ["FORMATS", "MAX_UPLOAD_BYTES", "AddedDocument", "ArticleView", "BriefingService", "IndexStats"]
__all__ += ["StreamEvent", "upload_file_name"]
__all__ += ["Digest", "DigestItem", "DigestRequest"]
__all__ += ["Briefing", "Check", "LibraryPage", "Removed"]


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
            settings = self.settings
            return load_embedder(
                settings.embedding_model, settings.embedding_backend, settings.model_dir, settings.threads
            )

    @cached_property
    def store(self) -> ChunkStore:
        with self._load_lock:
            ChunkStore.require_present(self.settings.location)  # before the embedder: no model load for nothing
            return ChunkStore.open(self.settings.location, self.embedder)

    @cached_property
    def _lexical(self) -> LiveLexicalIndex:
        with self._load_lock:
            # another writer may have changed article texts too: drop the cached ones when the index moves
            return LiveLexicalIndex(self.store, lexical_folder(self.settings.index), on_reload=self.articles.forget)

    @cached_property
    def retriever(self) -> HybridRetriever:
        settings = self.settings
        return HybridRetriever(
            self.store,
            self._lexical,
            self.embedder,
            settings.candidates,
            settings.max_chunks_per_article,
            settings.retrieval_ranking,
        )

    @cached_property
    def articles(self) -> ArticleTexts:
        return ArticleTexts(self._article)

    def _article(self, doc: str) -> tuple[str, tuple[int, ...]] | None:
        """Text and page starts, from the local lexical index, which keeps them beside each article's chunks;
        from the store only for an article it does not hold yet (another process's ingest it has not synced)."""
        found = self.retriever.lexical.article(doc)
        if found is not None:
            return found
        text = self.store.article_text(doc)
        if text is None:
            return None
        record = self.store.record_of(doc) if doc.lower().endswith(".pdf") else None  # only PDFs have pages
        return text, record.pages if record is not None else ()

    @cached_property
    def model(self) -> Model:
        return load_model(self.settings.scoring_model)

    @cached_property
    def reader(self) -> Reader:
        with self._load_lock:
            folder = self.settings.reader_model or MODEL_DIR
            return Reader(folder, threads=min(self.settings.threads, 2))

    @cached_property
    def _llm_answerers(self) -> LlmAnswerers:
        return LlmAnswerers(self.settings, lambda: self.articles, self._load_lock)

    def warm_up(self) -> None:
        """Load everything now (server start-up), so the first question is as fast as the rest.

        One real question runs the whole answer path once (word frequencies, regexes, spaCy for names); it
        needs content words, or the word frequencies would load during the first user's question instead.
        """
        _ = self.retriever.lexical
        self._extractive("Who said what about the talks, and when?", None, None, None)

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

        ``llm`` picks one of the answer modes the settings offer for this question (``extractive``, the
        configured ``llm`` or one of ``llm_choices``); any other mode raises :class:`AnswerModeNotAllowed`.
        """
        mode = chosen_mode(self.settings, llm)
        if mode == EXTRACTIVE:
            return self._extractive(question, history, since, until)
        return run_to_end(self._llm_run(mode, question, history, since, until, streaming=False))

    def stream(
        self,
        question: str,
        history: History = None,
        since: str | None = None,
        until: str | None = None,
        llm: str | None = None,
    ) -> Iterator[StreamEvent]:
        """The answer as it is produced: text deltas, then one final event carrying the whole answer.

        The deltas only ever carry text that is in the final answer: concatenated, they are its ``answer``.
        Extractive answers arrive in one delta; LLM answers sentence by sentence, each sentence released only
        once the faithfulness guard has kept it (markers already renumbered), so a sentence the guard drops is
        never shown. Citations come with the final event.
        """
        mode = chosen_mode(self.settings, llm)
        if mode == EXTRACTIVE:
            yield from events_of_whole(self._extractive(question, history, since, until))
        else:
            yield from events_of_run(self._llm_run(mode, question, history, since, until, streaming=True))

    def _llm_run(
        self, mode: str, question: str, history: History, since: str | None, until: str | None, streaming: bool
    ) -> AnswerRun:
        return self._llm_answerers.run(mode, question, history, since, until, streaming, self._extractive)

    def _extractive(
        self, question: str, history: History, since: str | None, until: str | None, abstain_below: float | None = None
    ) -> Answer:
        return pipeline.answer_extractively(self, question, history, since, until, abstain_below)

    def decide(
        self,
        question: str,
        evidence: pipeline.Evidence,
        ranked: list[Candidate],
        abstain_below: float | None = None,
        rerank: bool = True,
    ) -> Extracted:
        """The extractive answer over ranked evidence (``tune`` passes its own ranking and threshold, and asks
        for the rules' own answer, not reranked by the reader)."""
        return pipeline.decide(self, question, evidence, ranked, abstain_below, rerank)

    def read_evidence(self, evidence: pipeline.Evidence) -> None:
        """The reader's logit added to the shortlisted evidence sentences as their ``reader`` signal."""
        pipeline.add_reader_signals(self, evidence, evidence.ranked)

    def evidence(
        self,
        question: str,
        history: list[Turn],
        since: str | None = None,
        until: str | None = None,
        exclude: frozenset[str] = frozenset(),
    ) -> pipeline.Evidence:
        """Retrieval and ranked evidence for a question in its conversation (the answer path; also ``tune``)."""
        return pipeline.find_evidence(self, question, history, since, until, exclude)

    def rank_evidence(
        self, question: str, query: str, passages: list[Passage], said: Sequence[str] = ()
    ) -> list[Candidate]:
        """Candidate sentences from the top passages, scored and best first."""
        return pipeline.rank_evidence(self, question, query, passages, said)

    def validate(self, question: str) -> str:
        """The question, trimmed; empty or over-long questions raise with a message that says so."""
        return pipeline.validate_question(question, self.settings.max_question_chars)

    # ---------------------------------------------------------------------------------- digests
    def digest(self, request: DigestRequest, lead: bool = False) -> Digest:
        """What the briefings dated in a window say about a topic: verbatim, cited, merged, dated items.

        ``lead`` gives the lead baseline instead (each briefing's first sentence), which the eval compares with.
        """
        return build_digest(request, self.retriever.lexical, self.embedder, self.retriever.retrieve, lead)

    def digest_request(self, question: str, history: Sequence[dict[str, str]] = ()) -> DigestRequest | None:
        """The digest a chat message asks for ("what's new", "catch me up on ...", "more about the second one"),
        or ``None`` for a question to answer. Times in it are read against the newest briefing."""
        dates = self.retriever.lexical.date_range()
        return digest_request_in(question, history, date.fromisoformat(dates[1]) if dates else date.today())

    # ------------------------------------------------------------------------------ the index
    def stats(self) -> IndexStats:
        return index_stats(self.store, self.settings.location.describe())

    def article(self, doc: str) -> ArticleView | None:
        return article_view(self.store, self.articles.text, doc)

    def ingest(
        self,
        paths: Sequence[Path],
        prune: bool = False,
        progress: ProgressFactory = silent_progress,
        rebuild: bool = False,
    ) -> IngestReport:
        """Index files and make them answerable at once in this process."""
        with self._write_lock:
            location, chunking = self.settings.location, self.settings.chunking
            report = ingest(paths, location, self.embedder, chunking, prune, progress, rebuild=rebuild)
            if report.changed and "store" in self.__dict__:
                self._lexical.refresh()
                self.articles.forget()
            return report

    def briefings(
        self,
        since: str | None = None,
        until: str | None = None,
        text: str = "",
        offset: int = 0,
        limit: int | None = None,
    ) -> LibraryPage:
        """The indexed articles, newest first, dated within the bounds and naming ``text`` in id or title."""
        return library.select(self._listed(), since, until, text, offset, limit)

    def briefings_named(self, docs: Sequence[str]) -> list[Briefing]:
        """The briefings ``docs`` name (what a removal will take, to show before asking); unknown ids raise."""
        return library.named(self._listed(), docs)

    def _listed(self) -> list[Briefing]:
        return library.briefings(self.store.article_records().values(), self.settings.corpus)

    def remove(self, docs: Sequence[str], delete_files: bool = True) -> list[Removed]:
        """Take articles out of the index (and an upload's file out of the corpus folder): never cited again.

        An unknown id raises before anything is removed; this process drops their chunks at once, others at
        their next look at the index's generation.
        """
        with self._write_lock:
            location, uploads = self.settings.location, self.settings.corpus
            removed = library.remove(docs, location, self.embedder, uploads, delete_files)
            if "store" in self.__dict__:
                self._lexical.refresh()
                self.articles.forget()
            return removed

    def checks(self) -> list[Check]:
        """``briefings doctor``: the machine and the index, one check each; changes nothing."""
        return doctor.checks(self.settings, lambda: self.store)

    def articles_from(self, paths: Sequence[Path]) -> list[str]:
        """Ids of the indexed articles read from files under ``paths``: what pruning an emptied folder removes."""
        return [record.doc for record in articles_from(paths, self.settings.location, self.embedder)]

    def add_document(self, filename: str, content: bytes) -> AddedDocument:
        """Index one uploaded briefing so it is answerable at once, after checking that it really is one.

        Nothing is written unless the bytes load as a briefing; its article id is its own (sanitised) file name.
        """
        return add_upload(self.settings.corpus, filename, content, self.ingest)
