"""LLM answers that still cannot say what the sources do not say.

The pipeline for one question:

1. with chat history, the model rewrites the follow-up as a standalone question (the condensation prompt);
   if that fails, the history-aware heuristic of :func:`assistant.chat.standalone_question` is used;
2. the extractive answer is computed from the same retrieval: it decides whether anything relevant was
   found (if not, the model is not called at all and the answer abstains) and it is the fallback;
3. the model answers from the top passages, numbered and delimited, citing them as ``[n]`` (streamed token by
   token when asked);
4. :func:`assistant.grounding.ground` cites and guards the reply sentence by sentence.

The user always gets an answer or an honest abstention: when the model is down, slow, returns nothing usable
or nothing it says survives the guard, the extractive answer is returned with ``mode`` saying why, e.g.
``extractive (llm fallback: timeout)``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Generator, Iterable, Mapping, Sequence
from dataclasses import replace

from langchain_core.messages import BaseMessage

from assistant.answering import Answer
from assistant.chat import Turn, turns_from
from assistant.evidence import ArticleTexts
from assistant.grounding import Grounded, build_sources, ground, strip_reasoning
from assistant.llm import ChatBackend, LlmCallFailed
from assistant.llm_prompts import Prompts, answer_messages, clean_standalone, condense_messages, load_prompts

log = logging.getLogger(__name__)

History = Iterable[Mapping[str, str] | Turn] | None
Extract = Callable[[str, History], Answer]
SKIPPED_MODE = "extractive (llm skipped: nothing relevant)"
FALLBACK_MODE = "extractive (llm fallback: {reason})"


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
        """Yield the model's text as it arrives (when ``streaming``) and return the guarded answer.

        ``extract(question, history)`` is the extractive answer for the same date bounds; ``question`` has
        already been validated.
        """
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
        called = time.perf_counter()
        try:
            raw = yield from self._generate(answer_messages(self.prompts, asked, sources), streaming)
        except LlmCallFailed as failure:
            log.warning("%s failed, answering extractively: %s", self.backend.mode, failure)
            timings["llm"] = _ms(called)
            return self._fallback(baseline, failure.reason, (), started, timings)
        timings["llm"] = _ms(called)
        guarded = time.perf_counter()
        grounded = ground(raw, sources, asked, self.articles)
        timings["guard"] = _ms(guarded)
        return self._decide(baseline, raw, grounded, started, timings)

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

    def _generate(self, messages: Sequence[BaseMessage], streaming: bool) -> Generator[str, None, str]:
        if not streaming:
            return self.backend.complete(messages)
        parts: list[str] = []
        for delta in self.backend.stream(messages):
            parts.append(delta)
            yield delta
        return "".join(parts)

    def _decide(
        self, baseline: Answer, raw: str, grounded: Grounded, started: float, timings: dict[str, float]
    ) -> Answer:
        """The guarded answer, or the extractive one when nothing the model said survived."""
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
        return self._finish(answer, self.mode, started, timings)

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


def _ms(since: float) -> float:
    return (time.perf_counter() - since) * 1000
