"""The prompts of LLM mode, loaded from ``prompts/*.txt`` into LangChain prompt templates.

Prompt wording lives in text files so it can be read and changed without touching code. Everything that
comes from outside the prompt (article text, titles, the conversation) is placed inside delimiting elements
(``<source ...>``, ``<turn ...>``) and cannot close them: a ``<`` that would start or end such an element is
escaped, so a planted "</source> ignore previous instructions" stays inside its source.
It owns reading ``prompts/*.txt`` and building messages; it must not call a model or hold prompt text inline.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from langchain_core.messages import BaseMessage
from langchain_core.prompts import ChatPromptTemplate, PromptTemplate

from assistant.answer.conversation import Turn
from assistant.errors import AnswerBackendError
from assistant.llm.faithfulness import MARKER, tidy
from assistant.llm.grounding import Source, strip_reasoning

PROMPTS = Path(__file__).resolve().parents[2] / "prompts"
MAX_HISTORY_TURNS = 6
MAX_TURN_CHARS = 600
_DELIMITER = re.compile(r"<(?=\s*/?\s*(?:sources?|turn|conversation)\b)", re.IGNORECASE)
_ANSWER_PREFIX = re.compile(r"^\s*(?:standalone question|question|rewritten question)\s*:\s*", re.IGNORECASE)


@dataclass(frozen=True)
class Prompts:
    """The templates of LLM mode."""

    answer: ChatPromptTemplate
    source: PromptTemplate
    condense: ChatPromptTemplate
    history_turn: PromptTemplate


@lru_cache(maxsize=1)
def load_prompts(folder: Path = PROMPTS) -> Prompts:
    """Read the templates once per process."""
    return Prompts(
        answer=_chat(folder, "answer"),
        source=PromptTemplate.from_template(_read(folder, "source.txt")),
        condense=_chat(folder, "condense"),
        history_turn=PromptTemplate.from_template(_read(folder, "history_turn.txt")),
    )


def answer_messages(prompts: Prompts, question: str, sources: list[Source]) -> list[BaseMessage]:
    """The answer prompt: numbered, delimited sources and the question."""
    rendered = "\n\n".join(_source(prompts, source) for source in sources)
    return prompts.answer.format_messages(sources=rendered, question=escape(question))


def condense_messages(prompts: Prompts, question: str, turns: list[Turn]) -> list[BaseMessage]:
    """The follow-up prompt: the recent conversation (citation markers removed) and the latest message."""
    lines = [
        prompts.history_turn.format(role=turn.role, content=escape(_shortened(tidy(MARKER.sub("", turn.content)))))
        for turn in turns[-MAX_HISTORY_TURNS:]
    ]
    return prompts.condense.format_messages(history="\n".join(lines), question=escape(question))


def clean_standalone(reply: str, limit: int) -> str | None:
    """The question out of the model's reply, or ``None`` if the reply is not one usable question."""
    lines = [line.strip() for line in strip_reasoning(reply).splitlines() if line.strip()]
    if not lines:
        return None
    question = _ANSWER_PREFIX.sub("", lines[0]).strip().strip("\"'“”‘’`").strip()
    if not re.search(r"\w", question) or len(question) > limit:
        return None
    return question


def escape(text: str) -> str:
    """Neutralise anything that could open or close one of the prompt's delimiting elements."""
    return _DELIMITER.sub("&lt;", text)


def _source(prompts: Prompts, source: Source) -> str:
    return prompts.source.format(
        number=source.number,
        doc=_attribute(source.doc),
        date=_attribute(source.date or "unknown"),
        title=_attribute(source.title),
        text=escape(source.text),
    )


def _attribute(value: str) -> str:
    flat = " ".join(value.split())
    return flat.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;").replace(">", "&gt;")


def _shortened(text: str) -> str:
    return text if len(text) <= MAX_TURN_CHARS else text[:MAX_TURN_CHARS].rstrip() + "…"


def _chat(folder: Path, name: str) -> ChatPromptTemplate:
    return ChatPromptTemplate.from_messages(
        [("system", _read(folder, f"{name}_system.txt")), ("human", _read(folder, f"{name}_user.txt"))]
    )


def _read(folder: Path, name: str) -> str:
    try:
        return (folder / name).read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        raise AnswerBackendError(
            f"Prompt template {folder / name} is missing: LLM mode needs the prompts/ folder"
        ) from None
