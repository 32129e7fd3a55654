"""Chat history and follow-up questions, without an LLM.

"Who started it?" after "How long was the call?" cannot be retrieved on its own words. A follow-up (a
question with a pronoun that points back, an elliptical "and ...?" or "what about ...?", or very few content
words) is searched together with the standalone form of the previous user question, and with the previous
answer when that answer was short; the current question alone still decides what kind of answer is wanted.
The UI, the API, Slack threads and eval conversations all pass their history through this one function.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

from index.lexical import terms

Role = Literal["user", "assistant"]
_POINTING = re.compile(
    r"\b(?:it|its|it's|they|them|their|theirs|he|him|his|she|her|hers|this|these|those|there)\b",
    re.IGNORECASE,
)
_ELLIPTIC = re.compile(r"^\s*(?:and|also|so|but|what about|how about|and what about|what else|anything else)\b", re.IGNORECASE)
MAX_CARRIED_ANSWER_CHARS = 120
FEW_CONTENT_TERMS = 2


@dataclass(frozen=True)
class Turn:
    """One message of a conversation."""

    role: Role
    content: str


def turns_from(history: Iterable[Mapping[str, str] | Turn] | None) -> list[Turn]:
    """Accept the API's ``[{"role": ..., "content": ...}]`` as well as :class:`Turn` s; skip unknown roles."""
    result: list[Turn] = []
    for item in history or ():
        if isinstance(item, Turn):
            result.append(item)
            continue
        role, content = str(item.get("role", "")), str(item.get("content", ""))
        if role in ("user", "assistant") and content.strip():
            result.append(Turn(role, content))  # type: ignore[arg-type]
    return result


def is_follow_up(question: str) -> bool:
    """Does the question lean on an earlier turn for what it is about?"""
    return bool(_POINTING.search(question) or _ELLIPTIC.match(question) or len(set(terms(question))) <= FEW_CONTENT_TERMS)


def standalone_question(question: str, history: Iterable[Mapping[str, str] | Turn] | None) -> str:
    """The text to search with: the question, plus the conversation's subject when it is a follow-up."""
    turns = turns_from(history)
    subject = ""
    last_answer = ""
    for turn in turns:
        if turn.role == "user":
            subject = f"{turn.content} {subject}".strip() if is_follow_up(turn.content) and subject else turn.content
            last_answer = ""
        else:
            last_answer = turn.content
    if not subject or not is_follow_up(question):
        return question
    carried = subject
    if last_answer and len(last_answer) <= MAX_CARRIED_ANSWER_CHARS and "don't say" not in last_answer:
        carried = f"{carried} {last_answer}"
    return f"{question} {carried}"
