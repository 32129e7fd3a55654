"""LLM answers that still cannot say what the sources do not say.

The pipeline for one question:

1. with chat history, the model rewrites the follow-up as a standalone question (the condensation prompt);
   if that fails, the history-aware heuristic of :func:`assistant.answer.conversation.standalone_question` is used;
2. the extractive answer is computed from the same retrieval: it decides whether anything relevant was
   found (if not, the model is not called at all and the answer abstains) and it is the fallback;
3. the model answers from the top passages, numbered and delimited, citing them as ``[n]``;
4. :func:`assistant.llm.grounding.ground` cites and guards the reply sentence by sentence. When streaming, each
   sentence is guarded as soon as it is complete and released only if the guard keeps it
   (:class:`GuardedStream`), so the streamed text is always the start of the final answer's text.

The user always gets an answer or an honest abstention: when the model is down, slow, returns nothing usable
or nothing it says survives the guard, the extractive answer is returned with ``mode`` saying why, e.g.
``extractive (llm fallback: timeout)``.

It owns the order of an LLM answer and its fallbacks. Must not talk to a provider except through
:class:`assistant.llm.providers.ChatBackend`, retrieve (the extractive baseline brings the passages), read the
environment or import adapters.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass, replace

from langchain_core.messages import BaseMessage

from assistant.answer.conversation import History, turns_from
from assistant.answer.evidence import ArticleTexts
from assistant.llm.faithfulness import settled_text
from assistant.llm.grounding import Grounded, Source, build_sources, ground, strip_reasoning
from assistant.llm.prompts import Prompts, answer_messages, clean_standalone, condense_messages, load_prompts
from assistant.llm.providers import ChatBackend, LlmCallFailed
from assistant.types import Answer

log = logging.getLogger(__name__)

Extract = Callable[[str, History], Answer]
SKIPPED_MODE = "extractive (llm skipped: nothing relevant)"
FALLBACK_MODE = "extractive (llm fallback: {reason})"
CUT_SHORT_MODE = "{mode} (cut short: {reason})"
_SENTENCE_END = re.compile(r"[.!?…\n]")
_LETTER = re.compile(r"[^\W\d_]")


@dataclass(frozen=True)
class Reply:
    """The model's reply as guarded: ``raw`` is the text the guard judged (all of it, unless cut short)."""

    raw: str
    grounded: Grounded
    guard_ms: float
    cut_short: str | None = None  # why the stream ended early, after guarded text had been shown


class LlmAnswerer:
    """One backend's answers; built once per mode and reused for every question."""

    def __init__(
        self,
        backend: ChatBackend,
        articles: ArticleTexts,
        max_sources: int,
        max_question_chars: int,
        prompts: Prompts | None = None,
    ) -> None:
        self.backend = backend
        self.articles = articles
        self.max_sources = max_sources
        self.max_question_chars = max_question_chars
        self.prompts = prompts or load_prompts()

    @property
    def mode(self) -> str:
        """The ``mode`` of a guarded LLM answer, e.g. ``llm:openai:gpt-4o-mini``."""
        return f"llm:{self.backend.mode}"

    def run(self, question: str, history: History, extract: Extract, streaming: bool) -> Generator[str, None, Answer]:
        """Return the guarded answer; when ``streaming``, yield its text as it becomes final.

        The yielded pieces are guarded sentences as the model completes them, then whatever of the returned
        answer is not shown yet (all of it for an extractive fallback): joined, they are its ``answer``.
        ``extract(question, history)`` is the extractive answer for the same date bounds; ``question`` has
        already been validated.
        """
        shown = ""
        answering = self._answer(question, history, extract, streaming)
        while True:
            try:
                piece = next(answering)
            except StopIteration as finished:
                answer: Answer = finished.value
                break
            shown += piece
            yield piece
        assert answer.answer.startswith(shown), "streamed text must be the start of the answer"
        if streaming and answer.answer != shown:
            yield answer.answer[len(shown) :]
        return answer

    def _answer(
        self, question: str, history: History, extract: Extract, streaming: bool
    ) -> Generator[str, None, Answer]:
        started = time.perf_counter()
        timings: dict[str, float] = {}
        standalone, condense_failure = self._standalone(question, history, timings)
        baseline = extract(standalone, None) if standalone else extract(question, history)
        baseline = replace(baseline, question=question, standalone_question=standalone or baseline.standalone_question)
        if baseline.abstained:
            return self._finish(baseline, SKIPPED_MODE, started, timings)
        if condense_failure in ("timeout", "unavailable"):  # the same server will not answer the next call either
            return self._fallback(baseline, condense_failure, (), started, timings)
        sources = build_sources(list(baseline.passages[: self.max_sources]), self.articles)
        asked = standalone or question
        messages = answer_messages(self.prompts, asked, sources)
        called = time.perf_counter()
        try:
            if streaming:
                reply = yield from self._streamed(messages, sources, asked)
            else:
                reply = self._completed(messages, sources, asked)
        except LlmCallFailed as failure:
            log.warning("%s failed, answering extractively: %s", self.backend.mode, failure)
            timings["llm"] = _ms(called)
            return self._fallback(baseline, failure.reason, (), started, timings)
        timings["llm"] = _ms(called) - reply.guard_ms
        timings["guard"] = reply.guard_ms
        return self._decide(baseline, reply, started, timings)

    def _standalone(self, question: str, history: History, timings: dict[str, float]) -> tuple[str | None, str | None]:
        """The model's standalone form of a follow-up, or ``None`` (and why, when the call failed)."""
        turns = turns_from(history)
        if not turns:
            return None, None
        began = time.perf_counter()
        try:
            reply = self.backend.complete(condense_messages(self.prompts, question, turns))
        except LlmCallFailed as failure:
            log.warning("%s could not condense the follow-up: %s", self.backend.mode, failure)
            return None, failure.reason
        finally:
            timings["condense"] = _ms(began)
        standalone = clean_standalone(reply, self.max_question_chars)
        if standalone is None:
            log.warning("%s returned no usable standalone question: %r", self.backend.mode, reply[:200])
        return standalone, None

    def _completed(self, messages: Sequence[BaseMessage], sources: list[Source], asked: str) -> Reply:
        raw = self.backend.complete(messages)
        began = time.perf_counter()
        grounded = ground(raw, sources, asked, self.articles)
        return Reply(raw, grounded, _ms(began))

    def _streamed(
        self, messages: Sequence[BaseMessage], sources: list[Source], asked: str
    ) -> Generator[str, None, Reply]:
        """Yield guarded sentences as the model completes them; a failure after some were shown keeps those."""
        gate = GuardedStream(lambda text: ground(text, sources, asked, self.articles))
        try:
            for delta in self.backend.stream(messages):
                released = gate.feed(delta)
                if released:
                    yield released
        except LlmCallFailed as failure:
            if gate.shown is None:
                raise
            log.warning("%s stopped mid-answer; keeping the guarded sentences shown: %s", self.backend.mode, failure)
            return Reply(gate.shown_raw, gate.shown, gate.guard_ms, cut_short=failure.reason)
        return gate.finish()

    def _decide(self, baseline: Answer, reply: Reply, started: float, timings: dict[str, float]) -> Answer:
        """The guarded answer, or the extractive one when nothing the model said survived."""
        raw, grounded = reply.raw, reply.grounded
        if not strip_reasoning(raw) or not (grounded.supported_claims or grounded.abstentions or grounded.unsupported):
            return self._fallback(baseline, "empty", (), started, timings)
        if grounded.supported_claims == 0 and not grounded.abstained:
            return self._fallback(baseline, "unsupported", grounded.unsupported, started, timings)
        answer = replace(
            baseline,
            answer=grounded.text,
            abstained=grounded.abstained,
            citations=grounded.citations,
            unsupported=grounded.unsupported,
            alternatives=(),  # they number the extractive citations, which the model's answer replaces
        )
        mode = CUT_SHORT_MODE.format(mode=self.mode, reason=reply.cut_short) if reply.cut_short else self.mode
        return self._finish(answer, mode, started, timings)

    def _fallback(
        self, baseline: Answer, reason: str, dropped: tuple[str, ...], started: float, timings: dict[str, float]
    ) -> Answer:
        answer = replace(baseline, unsupported=dropped)
        return self._finish(answer, FALLBACK_MODE.format(reason=reason), started, timings)

    @staticmethod
    def _finish(answer: Answer, mode: str, started: float, timings: dict[str, float]) -> Answer:
        extra = timings.get("llm", 0.0) + timings.get("guard", 0.0)
        merged = {
            **timings,
            "retrieve": answer.timings_ms.get("retrieve", 0.0),
            "answer": answer.timings_ms.get("answer", 0.0) + extra,
            "total": _ms(started),
        }
        return replace(answer, mode=mode, timings_ms=merged)


class GuardedStream:
    """A streamed reply released sentence by sentence, each sentence only once the guard has kept it.

    Whenever a sentence is complete (the next one has begun), the reply so far, up to that sentence, goes
    through the same :func:`ground` as a whole reply does, and the guarded text it adds is released. Nothing
    is released before the first supported, cited sentence: until then the answer may still become an
    abstention or the extractive fallback, which would have to take back text already shown. So every
    release is the start of the final guarded text, and a sentence the guard drops is never shown.
    """

    def __init__(self, guard: Callable[[str], Grounded]) -> None:
        self.guard = guard
        self.raw = ""
        self.shown: Grounded | None = None  # the guarded text released so far
        self.shown_raw = ""  # the reply's text it was guarded from
        self.guard_ms = 0.0
        self._settled = ""
        self._sentence_ended = False

    def feed(self, delta: str) -> str:
        """Add the next piece of the reply; return the guarded text that it lets out ("" while none)."""
        self.raw += delta
        ends = [match.end() for match in _SENTENCE_END.finditer(delta)]
        self._sentence_ended = self._sentence_ended or bool(ends)
        if not self._sentence_ended or not _LETTER.search(delta[ends[-1] if ends else 0 :]):
            return ""  # only a word after a sentence end can complete a sentence: split no more often
        self._sentence_ended = False
        settled = settled_text(strip_reasoning(self.raw))
        if len(settled) <= len(self._settled):
            return ""
        self._settled = settled
        return self._release(settled, self._ground(settled))

    def finish(self) -> Reply:
        """The whole reply guarded, or what was shown if the whole reply does not continue it."""
        final = self._ground(self.raw)
        if self.shown is not None and not self._continues(final):
            log.warning("the whole reply guards differently from its streamed start; keeping what was shown")
            return Reply(self.shown_raw, self.shown, self.guard_ms)
        return Reply(self.raw, final, self.guard_ms)

    def _release(self, raw: str, grounded: Grounded) -> str:
        if not self._continues(grounded):
            return ""
        already = self.shown.text if self.shown is not None else ""
        self.shown, self.shown_raw = grounded, raw
        return grounded.text[len(already) :]

    def _continues(self, grounded: Grounded) -> bool:
        """Whether ``grounded`` can be shown: it has a supported sentence and extends what was shown."""
        already = self.shown.text if self.shown is not None else ""
        return grounded.supported_claims > 0 and grounded.text.startswith(already)

    def _ground(self, raw: str) -> Grounded:
        began = time.perf_counter()
        try:
            return self.guard(raw)
        finally:
            self.guard_ms += _ms(began)


def _ms(since: float) -> float:
    return (time.perf_counter() - since) * 1000
