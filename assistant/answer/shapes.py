"""What kind of thing a question asks for, and where such things are in a sentence.

"How long" wants a duration, "when" a date, day or time, "how many" a number; these have regular surface
forms, so deterministic patterns find them precisely and in microseconds. People, organisations and places
("who", "where", "which state") are found by spaCy's small English model when it is installed, with a
capitalised-phrase fallback, and only for the few sentences that compete for the final answer.
This module owns the question shapes and the patterns; spaCy is :mod:`assistant.answer.spans`'. Pure: must
not load models, read files or import the index.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum
from functools import lru_cache

from assistant.text.dates import DATE_WORD


class Kind(str, Enum):
    DURATION = "duration"
    DATE = "date"
    QUANTITY = "quantity"
    PERSON = "person"  # who: a person, organisation, group or side
    PLACE = "place"
    ENTITY = "entity"  # which/what <noun>: a named thing
    OTHER = "other"  # why, how, yes/no: the sentence is the answer


@dataclass(frozen=True)
class Found:
    """A typed span inside a sentence, as offsets into that sentence."""

    start: int
    end: int
    kind: Kind

    def text(self, sentence: str) -> str:
        return sentence[self.start : self.end]


_NUMBER_WORDS = (
    "one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen|sixteen|"
    "seventeen|eighteen|nineteen|twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety|hundred|a dozen|dozens|"
    "several|a few|a couple of|both"
)
_SCALE = r"(?:million|billion|trillion|thousand|hundred)"
_NUM = (
    rf"(?:\d+(?:[.,]\d+)*(?:\s?{_SCALE})?"
    rf"|(?:{_NUMBER_WORDS})(?:[- ](?:{_NUMBER_WORDS}))*(?:\s{_SCALE})?)"
)
_UNIT = r"(?:seconds?|minutes?|mins|hours?|hrs|days?|nights?|weeks?|months?|years?|decades?|centuries|century)"
_DURATION = re.compile(
    rf"\b(?:(?:{_NUM}|an?)(?:[- ]and[- ]a[- ]half)?[- ]{_UNIT}(?:(?:,|,? and)\s+(?:{_NUM}|an?)\s+{_UNIT})*"
    rf"|half an? {_UNIT}|(?:{_NUM}|an?)-(?:second|minute|hour|day|week|month|year)-long)\b",
    re.IGNORECASE,
)
# Every unit a _DURATION match can hold contains one of these (case aside), so a sentence without any holds none.
_UNIT_HINT = re.compile(r"second|min|hour|hr|day|night|week|month|year|decade|centur", re.IGNORECASE)
_MONTH = (
    r"(?:January|February|March|April|May|June|July|August|September|October|November|December|"
    r"Jan\.|Feb\.|Mar\.|Apr\.|Aug\.|Sept?\.|Oct\.|Nov\.|Dec\.)"
)
_WEEKDAY = r"(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)"
_DATE = re.compile(
    rf"\b(?:{_WEEKDAY}(?:,?\s+{_MONTH}\s+\d{{1,2}}(?:st|nd|rd|th)?(?:,\s+\d{{4}})?)?"
    rf"|{_MONTH}\s+\d{{1,2}}(?:st|nd|rd|th)?(?:,?\s+\d{{4}})?"
    rf"|\d{{1,2}}(?:st|nd|rd|th)?\s+(?:of\s+)?{_MONTH}(?:,?\s+\d{{4}})?"
    rf"|(?:January|February|April|June|July|August|September|October|November|December)(?:\s+\d{{4}})?"
    rf"|(?:March|May)\s+\d{{4}}"
    rf"|\d{{4}}-\d{{2}}-\d{{2}}"
    rf"|(?:early|late|mid-)?(?:19|20)\d{{2}}s?"
    rf"|\d{{1,2}}(?::\d{{2}})?\s?(?:a\.m\.|p\.m\.|am|pm)|noon|midnight"
    rf"|(?:yesterday|today|tomorrow|tonight)"
    rf"|(?:last|next|this|earlier this|later this)\s+"
    rf"(?:week|month|year|weekend|morning|evening|night|spring|summer|fall|autumn|winter))(?!\w)",
)
# The "date YYYY-MM-DD" marker that opens an article file dates the article; it answers no question.
_MONEY = (
    r"(?:[$£€¥]\s?\d[\d,]*(?:\.\d+)?(?:\s?(?:million|billion|trillion|thousand|bn|m|k)\b)?"
    r"|\d[\d,]*(?:\.\d+)?\s?(?:dollars|euros|pounds|cents|yuan|yen)\b)"
)
_PERCENT = r"(?:\d[\d,]*(?:\.\d+)?\s?(?:%|percent\b|per cent\b|percentage points?\b))"
_QUANTITY = re.compile(rf"(?:{_MONEY}|{_PERCENT}|\b{_NUM}\b)", re.IGNORECASE)
_BARE_NUMBER = re.compile(rf"\b{_NUM}\b", re.IGNORECASE)
_CAPITALISED = re.compile(r"\b(?:the\s+)?[A-Z][\w'’.&-]*(?:\s+(?:(?:of|de|von|van|al|bin|the|&)\s+)?[A-Z][\w'’.&-]*)*")
_SIDE = re.compile(
    r"\bthe\s+(?:[A-Z][\w-]+\s+)+(?:side|government|administration|team|officials?|leaders?|president|delegation)\b"
)

_PLACE_NOUNS = frozenset(
    "state country city nation town region county province island capital continent village area location "
    "place port territory district neighborhood neighbourhood venue site".split()
)
_PERSON_NOUNS = frozenset(
    "person man woman president leader ceo founder actor actress singer rapper player star artist author writer "
    "director minister senator governor candidate politician judge official executive chairman chief "
    "spokesperson musician comedian athlete coach billionaire king queen prince princess pope".split()
)
_ORG_NOUNS = frozenset(
    "company firm group organization organisation agency party team club network brand retailer automaker "
    "carmaker airline bank university union newspaper outlet publication band maker manufacturer giant "
    "startup chain studio court".split()
)
_DATE_NOUNS = frozenset("day date year month time week decade century season".split())
_QUANTITY_NOUNS = frozenset("percentage percent number amount price cost age rate score total sum fee fine".split())


@dataclass(frozen=True)
class QuestionShape:
    """The expected answer kind and, for which/what questions, the noun that names it."""

    kind: Kind
    head: str | None = None


def question_shape(question: str) -> QuestionShape:
    """Classify by the wh-phrase; the first matching rule wins, from most to least specific."""
    text = " ".join(question.lower().split())
    if re.search(
        r"\bhow long\b|\bhow much time\b|\bhow many (?:seconds|minutes|hours|days|weeks|months|years)\b"
        r"|\b(?:duration|length) of\b",
        text,
    ):
        return QuestionShape(Kind.DURATION)
    if re.search(r"\bhow (?:many|much)\b|\bhow old\b|\bat what (?:price|cost|rate|age)\b", text):
        return QuestionShape(Kind.QUANTITY, _head_after(text, r"how (?:many|much)"))
    if re.search(r"^(?:and\s+|so\s+)?when\b|\b(?:what|which) (?:day|date|year|month|time|week)\b|\bwhen\b", text):
        return QuestionShape(Kind.DATE)
    if re.search(r"\bwhere\b", text):
        return QuestionShape(Kind.PLACE)
    if re.search(r"\bwho(?:m|se)?\b", text):
        return QuestionShape(Kind.PERSON)
    if re.search(r"\bname of\b|\bwhat (?:is|was|are|were) (?:it|they|this|that) called\b", text):
        return QuestionShape(Kind.ENTITY, "name")
    head = _head_after(text, r"(?:which|what)")
    if head is not None:
        return _shape_for_head(head)
    if not _WH_WORD.search(text):
        return _keyword_shape(text)
    return QuestionShape(Kind.OTHER)


_WH_WORD = re.compile(r"\b(?:who|whom|whose|what|which|when|where|why|how)\b")
# What a question typed as key words asks for, by the noun that names it: "call length?", "date of the
# moscow meeting", "number of civilians evacuated", "death toll". Only for questions without a wh-word,
# whose wh-phrase says it better ("which state had the highest number of cases" asks for a state).
_KEYWORD_SHAPES = (
    (re.compile(r"\b(?:length|duration)\b"), Kind.DURATION),
    (re.compile(r"\b(?:number|amount|count|total|toll|tally|price|cost)\b"), Kind.QUANTITY),
    (re.compile(r"\b(?:date|day)\b"), Kind.DATE),
    (re.compile(r"\b(?:location|venue|city|country|place)\b"), Kind.PLACE),
)


def _keyword_shape(text: str) -> QuestionShape:
    for pattern, kind in _KEYWORD_SHAPES:
        if pattern.search(text):
            return QuestionShape(kind)
    return QuestionShape(Kind.OTHER)


def _head_after(text: str, lead: str) -> str | None:
    """The noun that names the answer: "which US state" -> "state", "how many people" -> "people"."""
    match = re.search(rf"\b{lead}\s+((?:[\w'&.-]+\s*){{1,4}})", text)
    if not match:
        return None
    words = match.group(1).split()
    if words[0] in _AUXILIARIES:
        return None
    for word in words:
        singular = _singular(word)
        if singular in _PLACE_NOUNS | _PERSON_NOUNS | _ORG_NOUNS | _DATE_NOUNS | _QUANTITY_NOUNS:
            return singular
    return _singular(_last_before_verb(words))


def _last_before_verb(words: list[str]) -> str:
    """In "which famous landmark is ...", the head noun is the last word before the verb; "type of X" is X."""
    phrase: list[str] = []
    for word in words:
        if word in _AUXILIARIES or word in _PHRASE_ENDS or (phrase and word.endswith("ed")):
            break
        phrase.append(word)
    if len(phrase) > 2 and phrase[1] == "of" and phrase[0] in _KIND_WORDS:
        phrase = phrase[2:]
    return phrase[-1] if phrase else words[0]


_PHRASE_ENDS = frozenset("in on at for to from by with that which who became become becomes recently this".split())
_KIND_WORDS = frozenset("type kind sort form brand variety".split())


def _singular(word: str) -> str:
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith("s") and not word.endswith("ss") and len(word) > 3:
        return word[:-1]
    return word


_AUXILIARIES = frozenset("is was are were did does do has have had will would can could should may might".split())


def _shape_for_head(head: str) -> QuestionShape:
    if head in _PLACE_NOUNS:
        return QuestionShape(Kind.PLACE, head)
    if head in _PERSON_NOUNS or head in _ORG_NOUNS:
        return QuestionShape(Kind.PERSON, head)
    if head in _DATE_NOUNS:
        return QuestionShape(Kind.DATE, head)
    if head in _QUANTITY_NOUNS:
        return QuestionShape(Kind.QUANTITY, head)
    return QuestionShape(Kind.ENTITY, head)


@lru_cache(maxsize=65536)
def find_typed(sentence: str, kind: Kind, head: str | None = None) -> tuple[Found, ...]:
    """Spans of ``kind`` found by patterns alone (cheap enough to score every candidate sentence).

    Dates are found first and nothing else may overlap them, so "February 7" is neither a quantity nor a
    name. A quantity takes the counted noun when it is the question's ("how many states" -> "22 states").
    Cached (the same sentences come back question after question), hence an immutable result.
    """
    if kind is Kind.DURATION:  # every duration names a unit: most sentences are ruled out by one cheap search
        return tuple(_matches(_DURATION, sentence, kind)) if _UNIT_HINT.search(sentence) else ()
    if kind is Kind.OTHER:
        return ()
    dates = _matches(_DATE, sentence, Kind.DATE)
    if kind is Kind.DATE:
        return tuple(span for span in dates if not DATE_WORD.match(sentence[: span.start]))
    if kind is Kind.QUANTITY:
        spans = [span for span in _matches(_QUANTITY, sentence, kind) if not _overlaps(span, dates)]
        spans = [span for span in spans if not _is_filler_number(span.text(sentence))]
        return tuple(_with_counted_noun(sentence, span, head) for span in spans)
    if kind in (Kind.PERSON, Kind.PLACE, Kind.ENTITY):
        found = _matches(_SIDE, sentence, kind) + [
            _without_final_stop(sentence, span)
            for span in _matches(_CAPITALISED, sentence, kind)
            if not _is_sentence_start_word(sentence, span)
        ]
        return tuple(span for span in found if not _overlaps(span, dates))
    return ()


def _without_final_stop(sentence: str, span: Found) -> Found:
    """ "Utah." ends a sentence; "U.S." is an abbreviation and keeps its stops."""
    text = span.text(sentence)
    if text.endswith(".") and text[:-1].count(".") == 0:
        return Found(span.start, span.end - 1, span.kind)
    return span


def _overlaps(span: Found, others: list[Found]) -> bool:
    return any(span.start < other.end and other.start < span.end for other in others)


def _is_filler_number(text: str) -> bool:
    """ "one of", "both" and friends are words, not answers to how many."""
    return text.lower() in {"one", "a few", "several", "both", "a couple of", "dozens"}


def _with_counted_noun(sentence: str, span: Found, head: str | None) -> Found:
    if not head:
        return span
    following = re.match(r"\s+(?:[\w-]+\s+)??([\w-]+)", sentence[span.end :])
    if following and _singular(following.group(1).lower()) == head:
        return Found(span.start, span.end + following.end(), span.kind)
    return span


def _has_symbol(text: str) -> bool:
    return any(symbol in text for symbol in "$£€¥%")


def _is_sentence_start_word(sentence: str, span: Found) -> bool:
    """A lone capitalised common word that only starts the sentence ("The", "However") is not a name."""
    words = span.text(sentence).split()
    return span.start == 0 and len(words) == 1 and words[0].lower() in _COMMON_STARTERS


_COMMON_STARTERS = frozenset(
    "the a an this that these those it he she they we i in on at for but and or so however meanwhile also "
    "after before when while as if there here his her their its our one some many most".split()
)


def _matches(pattern: re.Pattern[str], sentence: str, kind: Kind) -> list[Found]:
    return [
        Found(match.start(), match.end(), kind) for match in pattern.finditer(sentence) if match.end() > match.start()
    ]
