"""Which answer modes a server offers, and one LLM answerer per offered mode, built on first use and kept.

It owns the allowed-modes check (``extractive``, the configured ``llm`` and ``llm_choices``, nothing else),
the checks an LLM question passes before any model call, and the bounded cache of answerers with their
backends. The LLM answerer and its provider packages are imported only when an LLM mode is first used, so
the extractive default never loads them. Must not read the environment (endpoints and keys come from
:class:`Settings`), retrieve or answer itself, or import adapters.
"""

from __future__ import annotations

from collections.abc import Callable
from threading import RLock
from typing import TYPE_CHECKING

from assistant.answer.conversation import History
from assistant.answer.evidence import ArticleTexts
from assistant.answer.pipeline import validate_question
from assistant.answer.streaming import AnswerRun
from assistant.errors import AnswerModeNotAllowed
from assistant.retrieve.filters import date_bounds
from assistant.settings import Settings
from assistant.types import Answer

if TYPE_CHECKING:
    from assistant.llm.answering import LlmAnswerer

EXTRACTIVE = "extractive"
MAX_CACHED_LLM_MODES = 8
# In LLM mode the model reads the passages and the faithfulness guard checks what it says, so the extractive
# baseline it starts from abstains only when nothing was found (no passages, or a name no article uses).
LLM_BASELINE_THRESHOLD = 0.0
# The extractive answer for a question in its conversation, within date bounds, abstaining below a threshold.
Extractive = Callable[[str, History, str | None, str | None, float | None], Answer]


def chosen_mode(settings: Settings, llm: str | None) -> str:
    """The mode a question asked for, or the configured one."""
    return (llm or settings.llm).strip()


def offered_modes(settings: Settings) -> list[str]:
    """``extractive`` first, then the configured mode and the choices, each once, in the order given."""
    choices = [settings.llm, *settings.llm_choices.split(",")]
    return list(dict.fromkeys([EXTRACTIVE, *filter(None, (choice.strip() for choice in choices))]))


def require_offered(settings: Settings, mode: str) -> None:
    """Raise :class:`AnswerModeNotAllowed` unless the settings offer ``mode``."""
    offered = offered_modes(settings)
    if mode not in offered:
        raise AnswerModeNotAllowed(
            f"Answer mode {mode!r} is not offered by this server; use one of: {', '.join(offered)}"
        )


class LlmAnswerers:
    """The answerer for each mode, built on first use and kept (one per offered mode, bounded all the same).

    ``articles`` is called only when an answerer is built, after its backend, so a mode that cannot be used
    fails before the index is opened; ``lock`` is the one that guards the holder's other loaded objects.
    """

    def __init__(self, settings: Settings, articles: Callable[[], ArticleTexts], lock: RLock) -> None:
        self._settings = settings
        self._articles = articles
        self._lock = lock
        self._answerers: dict[str, LlmAnswerer] = {}

    def run(
        self,
        mode: str,
        question: str,
        history: History,
        since: str | None,
        until: str | None,
        streaming: bool,
        extractive: Extractive,
    ) -> AnswerRun:
        """Validate first (a mode not offered, a bad question or date costs no model call), then hand over.

        ``extractive`` gives the baseline the answerer starts from and falls back to, for the same bounds.
        """
        require_offered(self._settings, mode)
        question = validate_question(question, self._settings.max_question_chars)
        since, until = date_bounds(since, until)
        answerer = self.get(mode)

        def extract(query: str, context: History) -> Answer:
            return extractive(query, context, since, until, LLM_BASELINE_THRESHOLD)

        return answerer.run(question, history, extract, streaming)

    def get(self, mode: str) -> LlmAnswerer:
        """The answerer for ``mode``, built now if it is not kept yet (the most recently used are kept)."""
        from assistant.llm.answering import LlmAnswerer
        from assistant.llm.providers import build_backend  # LangChain is imported only when an LLM mode is used

        settings = self._settings
        with self._lock:
            answerer = self._answerers.pop(mode, None)
            if answerer is None:
                backend = build_backend(mode, settings)
                answerer = LlmAnswerer(
                    backend, self._articles(), settings.evidence_passages, settings.max_question_chars
                )
            self._answerers[mode] = answerer  # most recently used last
            while len(self._answerers) > MAX_CACHED_LLM_MODES:
                self._answerers.pop(next(iter(self._answerers)))
            return answerer
