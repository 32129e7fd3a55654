"""LLM backends behind one small interface, chosen by a mode string: ``openai:MODEL`` or ``ollama:MODEL``.

Each backend is a LangChain chat model from an optional package (``pip install 'briefings[openai]'`` or
``'briefings[ollama]'``), imported only when its mode is first used, so the default extractive mode needs
neither. ``openai:`` talks to any OpenAI-compatible server (OpenAI itself, vLLM, llama.cpp's server,
LM Studio) at ``settings.openai_base_url``; ``ollama:`` to an Ollama server at ``settings.ollama_host``
(the settings read ``OPENAI_BASE_URL``, ``OPENAI_API_KEY`` and ``OLLAMA_HOST`` once, at start-up). Must not
read the environment itself, retrieve, answer or cite: it only turns messages into text.

Every call has a timeout and is retried once on a transient failure (connection refused or reset,
rate limit, server error) but not after a timeout, which would only double the wait. Third-party errors
are translated here, at the boundary, into :class:`LlmCallFailed` with a short ``reason`` that the
answerer puts in the answer's ``mode`` when it falls back to the extractive answer:

    BriefingsError
    ├── AnswerBackendError   the mode cannot be used at all (unknown, package missing, no API key)
    └── LlmCallFailed        one call failed: reason "timeout", "unavailable" or "error"
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any, Literal

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import BaseMessage

from assistant.errors import AnswerBackendError, BriefingsError
from assistant.settings import Settings

log = logging.getLogger(__name__)

RETRY_PAUSE_SECONDS = 0.25
DEFAULT_OLLAMA_HOST = "http://127.0.0.1:11434"  # where Ollama listens unless told otherwise
FailureReason = Literal["timeout", "unavailable", "error"]
_TIMEOUT_ERRORS = frozenset({"APITimeoutError", "TimeoutException", "TimeoutError", "ReadTimeout", "ConnectTimeout"})
_CONNECTION_ERRORS = frozenset(
    {"APIConnectionError", "TransportError", "ConnectError", "ConnectionError", "RemoteProtocolError"}
)
_TRANSIENT_STATUS = frozenset({408, 409, 429, 500, 502, 503, 504})


class LlmCallFailed(BriefingsError):
    """A call to the model failed; the answerer falls back to the extractive answer and says why."""

    def __init__(self, reason: FailureReason, message: str, transient: bool = False) -> None:
        super().__init__(message)
        self.reason: FailureReason = reason
        self.transient = transient


class ChatBackend:
    """A chat model with the project's timeout, retry and error translation around it."""

    def __init__(self, mode: str, model: BaseChatModel, timeout: float) -> None:
        self.mode = mode
        self.model = model
        self.timeout = timeout

    def complete(self, messages: Sequence[BaseMessage]) -> str:
        """The whole reply as text."""
        for attempt in (1, 2):
            try:
                return str(self.model.invoke(list(messages)).text)
            except Exception as error:  # translated at the boundary, see the module docstring
                failure = translate(error)
                if attempt == 1 and failure.transient:
                    log.info("%s: %s; retrying once", self.mode, failure)
                    time.sleep(RETRY_PAUSE_SECONDS)
                    continue
                raise failure from error
        raise AssertionError("unreachable")

    def stream(self, messages: Sequence[BaseMessage]) -> Iterator[str]:
        """The reply token by token, within ``timeout`` seconds in all.

        Retried only while nothing has been yielded: text already shown cannot be taken back.
        """
        deadline = time.monotonic() + self.timeout
        for attempt in (1, 2):
            emitted = False
            try:
                for chunk in self.model.stream(list(messages)):
                    text = str(chunk.text)
                    if text:
                        emitted = True
                        yield text
                    if time.monotonic() > deadline:
                        raise LlmCallFailed("timeout", f"{self.mode}: no complete answer within {self.timeout:g} s")
                return
            except LlmCallFailed:
                raise
            except Exception as error:  # translated at the boundary, see the module docstring
                failure = translate(error)
                if attempt == 1 and failure.transient and not emitted:
                    log.info("%s: %s; retrying once", self.mode, failure)
                    time.sleep(RETRY_PAUSE_SECONDS)
                    continue
                raise failure from error


def translate(error: BaseException) -> LlmCallFailed:
    """Classify any client library's error by its class names and HTTP status, without importing it."""
    names = {cls.__name__ for cls in type(error).__mro__}
    status = getattr(error, "status_code", None)
    detail = f"{type(error).__name__}: {error}"
    if names & _TIMEOUT_ERRORS:
        return LlmCallFailed("timeout", detail)
    if names & _CONNECTION_ERRORS:
        return LlmCallFailed("unavailable", detail, transient=True)
    if isinstance(status, int):
        transient = status in _TRANSIENT_STATUS
        return LlmCallFailed("unavailable" if transient else "error", detail, transient=transient)
    return LlmCallFailed("error", detail)


# ----------------------------------------------------------------------------------- building
def parse_mode(mode: str) -> tuple[str, str]:
    """``"openai:gpt-4o-mini"`` -> ``("openai", "gpt-4o-mini")``; anything else is a one-line error."""
    provider, separator, model = mode.strip().partition(":")
    if not separator or provider.lower() not in _FACTORIES or not model.strip():
        raise AnswerBackendError(f"Unknown answer mode {mode!r}: use extractive, openai:MODEL or ollama:MODEL")
    return provider.lower(), model.strip()


def build_backend(mode: str, settings: Settings) -> ChatBackend:
    """The backend for ``mode`` with the settings' timeout; raises :class:`AnswerBackendError` if it cannot be used.

    The mode names only a provider and a model. Where the model is served (``openai_base_url``,
    ``ollama_host``) and its key come from the operator's settings alone, never from a mode, and the
    service builds a backend only for the modes its settings offer (``llm``, ``llm_choices``).
    """
    provider, model = parse_mode(mode)
    timeout = settings.llm_timeout
    return ChatBackend(f"{provider}:{model}", _FACTORIES[provider](model, settings), timeout)


def _openai(model: str, settings: Settings) -> BaseChatModel:
    try:
        from langchain_openai import ChatOpenAI
    except ImportError:
        raise AnswerBackendError("openai:MODEL needs langchain-openai: pip install 'briefings[openai]'") from None
    api_key, base_url, timeout = settings.openai_api_key, settings.openai_base_url, settings.llm_timeout
    if not api_key and not base_url:
        raise AnswerBackendError(
            "openai:MODEL needs OPENAI_API_KEY, or OPENAI_BASE_URL for a local OpenAI-compatible server"
        )
    # A local server usually ignores the key, but the client refuses to start without one.
    options: dict[str, Any] = {"api_key": api_key or "unused", "timeout": timeout, "max_retries": 0}
    if base_url:
        options["base_url"] = base_url
    return ChatOpenAI(model=model, temperature=0, **options)


def _ollama(model: str, settings: Settings) -> BaseChatModel:
    try:
        from langchain_ollama import ChatOllama
    except ImportError:
        raise AnswerBackendError("ollama:MODEL needs langchain-ollama: pip install 'briefings[ollama]'") from None
    # Always given, so the ollama client never falls back to reading OLLAMA_HOST from the environment itself.
    host = settings.ollama_host or DEFAULT_OLLAMA_HOST
    chat: BaseChatModel = ChatOllama(
        model=model, temperature=0, base_url=host, client_kwargs={"timeout": settings.llm_timeout}
    )
    return chat


_FACTORIES: dict[str, Callable[[str, Settings], BaseChatModel]] = {"openai": _openai, "ollama": _ollama}
