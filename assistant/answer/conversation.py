"""Chat history and follow-up questions, without an LLM.

"Who started it?" after "How long was the call?" cannot be retrieved on its own words. A follow-up (a
question with a pronoun that points back, an elliptical "and ...?" or "what about ...?", or very few content
words) is rewritten and searched in two forms:

* the *focus*: the question with its pronoun replaced by what it most likely points to in the previous
  question ("Who started it?" -> "Who started the call?"), which evidence is scored against;
* the *search text*: the focus plus the earlier questions, so retrieval finds the same articles.

Evidence sentences are scored, and the reader model asked, with the focus plus the subject's own words
(:func:`reading_question`), since "through who" alone names nothing to look for. The current question alone
still decides what kind of answer is wanted. The UI, the API, Slack threads and
eval conversations all pass their history through these functions. Pure text functions over the history:
must not retrieve, call a model or read files.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

from assistant.text.tokens import terms

Role = Literal["user", "assistant"]
_POINTING = re.compile(
    r"\b(?:it|its|it's|they|them|their|theirs|he|him|his|she|her|hers|this|these|those|there)\b",
    re.IGNORECASE,
)
_ELLIPTIC = re.compile(
    r"^\s*(?:and|also|so|but|what about|how about|and what about|what else|anything else)\b", re.IGNORECASE
)
SHORT_ANSWER_WORDS = 8  # a span such as "an hour and 45 minutes", not a quoted sentence
FEW_CONTENT_TERMS = 1  # "Why?", "And the cost?": too little to stand alone


@dataclass(frozen=True)
class Turn:
    """One message of a conversation."""

    role: Role
    content: str


History = Iterable[Mapping[str, str] | Turn] | None  # what callers pass: the API's dicts or Turns, or nothing


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
    return bool(
        _POINTING.search(question) or _ELLIPTIC.match(question) or len(set(terms(question))) <= FEW_CONTENT_TERMS
    )


def standalone_question(question: str, history: Iterable[Mapping[str, str] | Turn] | None) -> str:
    """The text to search with: the focused question, plus the conversation's subject for a follow-up.

    The subject is the standalone form of the earlier user questions; earlier *answers* are not carried,
    because their words pull the search back to the sentence that was already quoted.
    """
    subject = _subject(history)
    if not subject or not is_follow_up(question):
        return question
    return f"{resolve_pronouns(question, subject)} {subject}"


def focused_question(question: str, history: Iterable[Mapping[str, str] | Turn] | None) -> str:
    """The question with its pronouns resolved against the conversation (itself when not a follow-up)."""
    subject = _subject(history)
    if not subject or not is_follow_up(question):
        return question
    return resolve_pronouns(question, subject)


ASKING_WORDS = frozenset(  # what asks, not what is asked about: left out of a subject
    "who whom whose what when where which why how long many much did does do was were is are has have had".split()
)


def reading_question(question: str, history: Iterable[Mapping[str, str] | Turn] | None) -> str:
    """What a reader of single sentences is asked: the focus, and for a follow-up the conversation's subject
    without its question words ("through who" after "what did the presidents agree on" → "through who —
    the presidents agree on"), because an elliptical question alone names nothing to look for."""
    focus = focused_question(question, history)
    subject = _subject(history)
    if not subject or not is_follow_up(question):
        return focus
    words = [word for word in re.sub(r"[?!.]", " ", subject).split() if word.lower() not in ASKING_WORDS]
    return f"{focus} — {' '.join(words)}" if words else focus


def previous_search(history: Iterable[Mapping[str, str] | Turn] | None) -> str | None:
    """What the previous user turn searched for (its standalone form), to keep a follow-up on its articles."""
    turns = turns_from(history)
    users = [index for index, turn in enumerate(turns) if turn.role == "user"]
    if not users:
        return None
    last = users[-1]
    return standalone_question(turns[last].content, turns[:last])


def _subject(history: Iterable[Mapping[str, str] | Turn] | None) -> str:
    subject = ""
    for turn in turns_from(history):
        if turn.role == "user":
            subject = f"{turn.content} {subject}".strip() if is_follow_up(turn.content) and subject else turn.content
    return subject


_THING = re.compile(
    r"\b(?:the|this|that)\s+(?:[a-z][\w-]*\s+){0,2}?[a-z][\w-]*"
    r"(?=\s+(?:in|of|on|at|for|with|about|to|from|between|by|and|or)\b|\s*[?.!,;]|\s*$)"
)
_NAME = re.compile(r"(?<!^)(?<![.?!]\s)\b[A-Z][\w'’-]+(?:\s+[A-Z][\w'’-]+)*")
_NAMES_PAIR = re.compile(r"\b[A-Z][\w-]+(?:\s+[A-Z][\w-]+)*\s+and\s+[A-Z][\w-]+(?:\s+[A-Z][\w-]+)*")
_WH_WORDS = {"who", "what", "when", "where", "which", "why", "how", "the", "this", "that"}


def resolve_pronouns(question: str, subject: str) -> str:
    """Replace "it", "he"/"she" and "they" with the thing, person or pair named in ``subject``.

    Deliberately simple: the last definite noun phrase ("the call") stands for "it", the first capitalised
    name (usually the subject) for "he"/"she", a pair of names joined by "and" for "they". Anything
    unresolved stays as it is.
    """
    thing = _last(_THING.findall(subject))
    names = [n for n in _NAME.findall(subject) if n.lower() not in _WH_WORDS]
    name = names[0] if names else None
    pair = _last(_NAMES_PAIR.findall(subject))
    replacements = [
        (r"\bit\b", thing),
        (r"\bits\b", f"{thing}'s" if thing else None),
        (r"\b(?:he|she|him)\b", name),
        (r"\b(?:his|her)\b", f"{name}'s" if name else None),
        (r"\b(?:they|them)\b", pair),
    ]
    for pattern, value in replacements:
        if value:
            question = re.sub(pattern, value, question, flags=re.IGNORECASE)
    return question


def _last(found: list[str]) -> str | None:
    return found[-1] if found else None


def earlier_answers(question: str, history: Iterable[Mapping[str, str] | Turn] | None) -> list[str]:
    """Short answers already given in this conversation, when ``question`` follows up on them.

    A follow-up asks for something new: the sentence that answered "How long was the call?" is unlikely
    to answer "Who started it?", so evidence that merely repeats an earlier answer is ranked down.
    """
    turns = turns_from(history)
    if not turns or not is_follow_up(question):
        return []
    asked = {turn.content.strip().lower() for turn in turns if turn.role == "user"}
    if question.strip().lower() in asked:
        return []
    return [
        turn.content
        for turn in turns
        if turn.role == "assistant"
        and len(turn.content.split()) <= SHORT_ANSWER_WORDS
        and "don't say" not in turn.content
    ]
