"""The one :class:`BriefingService` that the CLI, HTTP API, UI, Slack and eval all call.

It owns the expensive objects (embedder, store, lexical index) and loads them once, on first use or at
start-up through :meth:`warm_up`, so no request pays for them. Adapters only translate: they never reach
past the service into retrieval or the index.
"""

from __future__ import annotations

import logging
import re
import tempfile
import time
from collections.abc import Generator, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from threading import Lock, RLock
from typing import TYPE_CHECKING, Literal

from assistant.answer.confidence import Model, load_model
from assistant.answer.conversation import (
    Turn,
    earlier_answers,
    focused_question,
    is_follow_up,
    previous_search,
    standalone_question,
    turns_from,
)
from assistant.answer.evidence import ArticleTexts, Candidate, gather, score
from assistant.answer.extractive import Extracted, extract_answer
from assistant.answer.shapes import question_shape
from assistant.answer.support import key_terms, question_names
from assistant.errors import (
    AnswerModeNotAllowed,
    CorpusError,
    DocumentRejected,
    EmptyQuestion,
    QuestionError,
    QuestionTooLong,
)
from assistant.retrieve.hybrid import HybridRetriever, LiveLexicalIndex
from assistant.settings import Settings
from assistant.text.dates import is_iso_date
from assistant.types import Answer, Passage
from index.articles import ARTICLE_SUFFIXES, Rejected, SourceFile, load_article
from index.embedding import Embedder, load_embedder
from index.ingest import IngestReport, ProgressFactory, ingest, silent_progress
from index.lexical import lexical_folder
from index.store import ArticleRecord, ChunkStore

if TYPE_CHECKING:
    from assistant.llm.answering import LlmAnswerer

log = logging.getLogger(__name__)

MAX_CACHED_LLM_MODES = 8
# In LLM mode the model reads the passages and the faithfulness guard checks what it says, so the extractive
# baseline it starts from abstains only when nothing was found (no passages, or a name no article uses).
LLM_BASELINE_THRESHOLD = 0.0
CONTINUITY_PASSAGES = 2  # passages of the previous question's articles that a follow-up keeps in view
MAX_UPLOAD_BYTES = 10 * 1024 * 1024  # a briefing is text: anything bigger is almost certainly not one
_UNSAFE_NAME_CHARS = re.compile(r"[^\w.-]+")
History = Iterable[Mapping[str, str] | Turn] | None


@dataclass(frozen=True)
class IndexStats:
    """What the UI header and ``GET /api/status`` show."""

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
class Evidence:
    """What retrieval and evidence ranking found for one question."""

    query: str
    passages: list[Passage]
    ranked: list[Candidate]
    follow_up: bool
    retrieve_ms: float
    focus: str  # the question with its pronoun resolved ("Who started the call?"): what the evidence answers


@dataclass(frozen=True)
class ArticleView:
    """An article as the UI shows it when a citation is opened."""

    doc: str
    title: str
    date: str | None
    text: str


@dataclass(frozen=True)
class AddedDocument:
    """An uploaded briefing as saved and indexed: ``doc`` may differ from the upload's name if that was taken."""

    doc: str
    path: Path
    report: IngestReport


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
        return HybridRetriever(
            self.store, self._lexical, self.embedder, self.settings.candidates, self.settings.max_chunks_per_article
        )

    @cached_property
    def articles(self) -> ArticleTexts:
        return ArticleTexts(self.store.article_text)

    def warm_up(self) -> None:
        """Load everything now (server start-up), so the first question is as fast as the rest.

        One real question runs the whole answer path once (word frequencies, regexes, spaCy for names).
        """
        _ = self.retriever.lexical
        self._extractive("Who said what, and when?", None, None, None)

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
        mode = (llm or self.settings.llm).strip()
        if mode == "extractive":
            return self._extractive(question, history, since, until)
        run = self._llm_run(mode, question, history, since, until, streaming=False)
        while True:
            try:
                next(run)
            except StopIteration as finished:
                answer: Answer = finished.value
                return answer

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
        mode = (llm or self.settings.llm).strip()
        if mode == "extractive":
            answer = self._extractive(question, history, since, until)
            yield StreamEvent("delta", text=answer.answer)
            yield StreamEvent("answer", answer=answer)
            return
        run = self._llm_run(mode, question, history, since, until, streaming=True)
        while True:
            try:
                delta = next(run)
            except StopIteration as finished:
                yield StreamEvent("answer", answer=finished.value)
                return
            yield StreamEvent("delta", text=delta)

    def _llm_run(
        self, mode: str, question: str, history: History, since: str | None, until: str | None, streaming: bool
    ) -> Generator[str, None, Answer]:
        """Validate first (a mode not offered, a bad question or date costs no model call), then hand over."""
        choices = [self.settings.llm, *self.settings.llm_choices.split(",")]
        offered = dict.fromkeys(["extractive", *filter(None, (choice.strip() for choice in choices))])
        if mode not in offered:
            raise AnswerModeNotAllowed(
                f"Answer mode {mode!r} is not offered by this server; use one of: {', '.join(offered)}"
            )
        question = self.validate(question)
        since, until = _valid_date(since, "since"), _valid_date(until, "until")
        answerer = self._llm_answerer(mode)

        def extract(query: str, context: History) -> Answer:
            return self._extractive(query, context, since, until, abstain_below=LLM_BASELINE_THRESHOLD)

        return answerer.run(question, history, extract, streaming)

    def _llm_answerer(self, mode: str) -> LlmAnswerer:
        """The answerer for ``mode``, built on first use and kept (one per offered mode, bounded all the same)."""
        from assistant.llm.answering import LlmAnswerer
        from assistant.llm.providers import build_backend  # LangChain is imported only when an LLM mode is used

        with self._load_lock:
            answerer = self._llm_answerers.pop(mode, None)
            if answerer is None:
                backend = build_backend(mode, self.settings.llm_timeout)
                answerer = LlmAnswerer(
                    backend, self.articles, self.settings.evidence_passages, self.settings.max_question_chars
                )
            self._llm_answerers[mode] = answerer  # most recently used last
            while len(self._llm_answerers) > MAX_CACHED_LLM_MODES:
                self._llm_answerers.pop(next(iter(self._llm_answerers)))
            return answerer

    @cached_property
    def _llm_answerers(self) -> dict[str, LlmAnswerer]:
        return {}

    def _extractive(
        self,
        question: str,
        history: History,
        since: str | None,
        until: str | None,
        abstain_below: float | None = None,
    ) -> Answer:
        question = self.validate(question)
        if self.settings.entity_spans == "spacy":  # loaded once; missing is a one-line error, not a fallback
            from assistant.answer.spans import preload

            preload()
        since, until = _valid_date(since, "since"), _valid_date(until, "until")
        started = time.perf_counter()
        evidence = self.evidence(question, turns_from(history), since, until)
        extracted = self.decide(question, evidence, evidence.ranked, abstain_below)
        finished = time.perf_counter()
        return Answer(
            question=question,
            answer=extracted.text,
            abstained=extracted.abstained,
            citations=extracted.citations,
            passages=tuple(evidence.passages),
            mode="extractive",
            timings_ms={
                "retrieve": evidence.retrieve_ms,
                "answer": (finished - started) * 1000 - evidence.retrieve_ms,
                "total": (finished - started) * 1000,
            },
            confidence=extracted.confidence,
            standalone_question=evidence.query,
            alternatives=extracted.alternatives,
            closest=extracted.closest,
        )

    def decide(
        self, question: str, evidence: Evidence, ranked: list[Candidate], abstain_below: float | None = None
    ) -> Extracted:
        """The extractive answer over ranked evidence (``tune`` passes its own ranking and threshold)."""
        focus = evidence.focus
        shape = question_shape(question)
        return extract_answer(
            ranked,
            shape,
            evidence.query,
            self.articles,
            self.model.confidence,
            self.settings.abstain_below if abstain_below is None else abstain_below,
            evidence.follow_up,
            self.settings.entity_spans == "spacy",
            question_names(focus),
            self.retriever.lexical.knows,
            key_terms(focus, shape.head),
        )

    def evidence(
        self,
        question: str,
        history: list[Turn],
        since: str | None = None,
        until: str | None = None,
        exclude: frozenset[str] = frozenset(),
    ) -> Evidence:
        """Retrieval and ranked evidence for a question in its conversation (the answer path; also ``tune``,
        which hides a question's evidence articles through ``exclude`` to see what an unanswerable looks like)."""
        started = time.perf_counter()
        query = standalone_question(question, history)
        follow_up = bool(history) and is_follow_up(question)
        passages = self.retriever.retrieve(query, self.settings.passages, since, until, exclude)
        previous = previous_search(history) if follow_up else None
        if previous:  # keep the previous question's articles in view, or "it" drifts to another article
            kept = self.retriever.retrieve(previous, CONTINUITY_PASSAGES, since, until, exclude)
            seen = {passage.chunk.id for passage in kept}
            passages = (kept + [p for p in passages if p.chunk.id not in seen])[: self.settings.passages]
        retrieve_ms = (time.perf_counter() - started) * 1000
        focus = focused_question(question, history)
        ranked = self.rank_evidence(focus, query, passages, earlier_answers(question, history))
        return Evidence(query, passages, ranked, follow_up, retrieve_ms, focus)

    def rank_evidence(
        self, question: str, query: str, passages: list[Passage], said: Sequence[str] = ()
    ) -> list[Candidate]:
        """Candidate sentences from the top passages, scored and best first."""
        shape = question_shape(question)
        candidates = gather(passages, self.settings.evidence_passages)
        weights = self.model.weights
        return score(candidates, question, query, shape, self.retriever.lexical, weights, self.embedder, said)

    @cached_property
    def model(self) -> Model:
        return load_model(self.settings.scoring_model)

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

    def add_document(self, filename: str, content: bytes) -> AddedDocument:
        """Index one uploaded briefing so it is answerable at once, after checking that it really is one.

        The bytes are loaded the way ingest would load them *before* anything is written, so a binary, empty
        or unsupported file leaves the corpus folder and the index untouched. The file is then saved into the
        corpus folder under its own sanitised name (never over a different file) and ingested by path, so its
        article id is its file name, exactly what a later ``briefings ingest corpus/`` gives it.
        """
        name = upload_file_name(filename)
        check_upload(name, content)
        path, created = save_upload(self.settings.corpus, name, content)
        try:
            report = self.ingest([path])
        except BaseException:
            if created:  # leave the corpus as it was, so retrying the upload behaves the same
                path.unlink(missing_ok=True)
            raise
        return AddedDocument(path.name, path, report)


def _valid_date(value: str | None, name: str) -> str | None:
    if value is None or value == "":
        return None
    if not is_iso_date(value):
        raise QuestionError(f"--{name} must be a date as YYYY-MM-DD, not {value!r}")
    return value


def upload_file_name(filename: str) -> str:
    """The uploaded file's own name, safe as a file and an article id: no folders, no hidden files, no oddities."""
    base = re.split(r"[\\/]", filename.strip())[-1]
    stem, dot, suffix = base.rpartition(".")
    if not dot:
        stem, suffix = base, ""
    stem = _UNSAFE_NAME_CHARS.sub("_", stem).strip("._-")[:100] or "briefing"
    suffix = _UNSAFE_NAME_CHARS.sub("", suffix).strip("._-").lower()
    return f"{stem}.{suffix}" if suffix else stem


def check_upload(name: str, content: bytes) -> None:
    """Raise :class:`DocumentRejected` unless ``content`` loads as an article under ``name``."""
    suffix = Path(name).suffix.lower()
    if suffix not in ARTICLE_SUFFIXES:
        raise DocumentRejected(
            f"{name} was not added: {suffix or 'a file without a type'} is not a briefing format "
            "(use .txt, .md or .html)"
        )
    if len(content) > MAX_UPLOAD_BYTES:
        raise DocumentRejected(f"{name} was not added: it is larger than {MAX_UPLOAD_BYTES // (1024 * 1024)} MB")
    with tempfile.TemporaryDirectory(prefix="briefings-upload-") as folder:
        trial = Path(folder) / name
        trial.write_bytes(content)
        loaded = load_article(SourceFile(trial, name))
    if isinstance(loaded, Rejected):
        raise DocumentRejected(f"{name} was not added: {loaded.reason}; upload a .txt, .md or .html briefing")
    if loaded.lossy:  # its quotes could not be checked with open(path, encoding="utf-8"), so it is not taken
        raise DocumentRejected(f"{name} was not added: it is not UTF-8 text; save it as UTF-8 and upload it again")


def save_upload(folder: Path, name: str, content: bytes) -> tuple[Path, bool]:
    """Write ``content`` into ``folder`` as ``name`` or, if a different file has that name, ``stem-2.ext`` ...

    Returns the path and whether a new file was written (an identical existing file is reused). Exclusive
    creation means two uploads racing for one name can never overwrite each other.
    """
    stem, suffix = Path(name).stem, Path(name).suffix
    try:
        folder.mkdir(parents=True, exist_ok=True)
        for attempt in range(1, 1000):
            candidate = folder / (name if attempt == 1 else f"{stem}-{attempt}{suffix}")
            try:
                handle = candidate.open("xb")
            except FileExistsError:
                if candidate.is_file() and candidate.read_bytes() == content:
                    return candidate, False
                continue
            try:
                with handle:
                    handle.write(content)
            except OSError:
                candidate.unlink(missing_ok=True)  # never leave half a briefing behind
                raise
            return candidate, True
    except OSError as error:
        raise CorpusError(f"Could not save {name} in {folder}: {error.strerror or error}") from None
    raise CorpusError(f"Could not save {name} in {folder}: too many files with that name")
