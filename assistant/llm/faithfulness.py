"""The faithfulness guard: an LLM answer sentence survives only if the passages it cites support it.

A language model writes fluently and sometimes invents the one detail that matters: a number, a date, a
name. Those are exactly the things a cheap deterministic check can compare. So every answer sentence
(a :class:`Claim`) is checked against the text of the sources it cites:

* every quantity in it (numbers, durations, money, percentages; "forty-five minutes" = "45 minutes",
  "$35" = "35 dollars") must occur in the cited text, with the same unit when both name one;
* every capitalised word (names, places, organisations, months, weekdays) must occur in the cited text;
* at least half of its content words must occur there too, so a sentence cannot pair a real name with an
  invented event;
* a sentence that cites nothing is unsupported, unless it only says that the sources do not say something.

The check is conservative on purpose: a faithful paraphrase that changes a name's form ("France" for "the
French side") is dropped too, and the prompt asks the model to copy names, numbers and dates as written.
Pure text checks: must not call a model, read files or make citations (:mod:`assistant.llm.grounding` does).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from functools import cached_property

from assistant.text.dates import ISO_DATE
from assistant.text.sentences import sentence_spans
from assistant.text.tokens import terms


def _words(text: str) -> list[str]:
    return text.split()


MARKER = re.compile(r"\[\s*(?:sources?\s*)?(\d{1,3}(?:\s*[,;]\s*(?:sources?\s*)?\d{1,3})*)\s*\]", re.IGNORECASE)
MIN_TERM_SHARE = 0.5

_ONES = _words(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
    "seventeen eighteen nineteen"
)
_TENS = _words("twenty thirty forty fifty sixty seventy eighty ninety")
_VALUES = {word: value for value, word in enumerate(_ONES)} | {word: 20 + 10 * i for i, word in enumerate(_TENS)}
_NUMBER_WORD = re.compile(
    rf"\b(?:({'|'.join(_TENS)})(?:[- ]({'|'.join(_ONES[1:10])}))?|({'|'.join(_ONES)}))\b|\ba dozen\b", re.IGNORECASE
)
_TIME_UNITS = "second|minute|hour|day|week|month|year|decade"
_SINGULAR = re.compile(rf"\b(?:an?|one)[\s-]+({_TIME_UNITS})\b", re.IGNORECASE)
_CURRENCY = {"$": "dollars", "€": "euros", "£": "pounds", "¥": "yen", "usd": "dollars", "eur": "euros", "gbp": "pounds"}
_MONEY = re.compile(
    r"(?:([$€£¥])|\b(USD|EUR|GBP)\s?)(\d[\d,]*(?:\.\d+)?)(?:\s?(million|billion|trillion|thousand|bn|m|k)\b)?",
    re.IGNORECASE,
)
_SCALE_ALIASES = {"bn": "billion", "m": "million", "k": "thousand"}
_PERCENT = re.compile(r"(\d+(?:\.\d+)?)\s?(?:%|per\s?cent\b)", re.IGNORECASE)
_THOUSANDS = re.compile(r"(?<=\d),(?=\d{3}\b)")
_ORDINAL = re.compile(r"\b(\d+)(?:st|nd|rd|th)\b", re.IGNORECASE)
_MONTHS = _words("January February March April May June July August September October November December")
_MONTH_ABBREVIATION = re.compile(r"\b(Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sept?|Oct|Nov|Dec)\.?(?=\s+\d)")
_UNIT_WORDS = (
    r"seconds?|minutes?|mins?|hours?|hrs?|days?|weeks?|months?|years?|decades?|"
    r"dollars?|euros?|pounds?|cents?|yen|yuan|percent"
)
_SCALES = {"thousand": 1e3, "million": 1e6, "billion": 1e9, "trillion": 1e12}
_QUANTITY = re.compile(
    rf"(?<![\w.])(\d+(?:\.\d+)?)(?:\s+(thousand|million|billion|trillion)\b)?(?:[\s-]+({_UNIT_WORDS})\b)?",
    re.IGNORECASE,
)
_UNIT_CANON = {"min": "minute", "mins": "minute", "hr": "hour", "hrs": "hour"}
_WORD = re.compile(r"\w+")

_SOURCES = (
    r"(?:the |these |those |any |of the |provided )*"
    r"(?:sources?|briefings?|documents?|articles?|passages?|provided (?:text|context))"
)
_ABSTENTION = re.compile(
    "|".join(
        (
            rf"\b{_SOURCES}\b[^.]{{0,40}}\b(?:do|does|did)(?:\s+not|n't)\b",
            rf"\b{_SOURCES}\b[^.]{{0,40}}\b(?:make|makes|contain|contains|give|gives|provide|provides|include|includes|offer|offers)\s+(?:no|nothing)\b",
            rf"\bnot\s+(?:mentioned|stated|specified|given|provided|included|reported|addressed|covered|found)\b[^.]{{0,40}}\b(?:in|by)\s+{_SOURCES}\b",
            rf"\bno\s+(?:information|mention|details?|indication)\b[^.]{{0,60}}\b(?:in|from)\s+{_SOURCES}\b",
            rf"\bnone\s+of\s+{_SOURCES}\b",
            r"\bI\s+(?:cannot|can't|could\s+not|couldn't)\s+(?:find|tell|determine)\b",
        )
    ),
    re.IGNORECASE,
)
# "- Duration: ..." in a list answer is a label, not a name; "Scholz said: ..." is an attribution and is checked.
_LABEL = re.compile(
    r"^\W*(?![^:]*\b(?:said|says|told|stated|added|noted|wrote|claimed)\b)[A-Z][\w-]*(?:\s+[\w-]+){0,2}:\s+"
)
_CLAUSE_BREAK = re.compile(r"[;:]|,?\s+\b(?:but|however|although|though|while|whereas|yet)\b", re.IGNORECASE)

# Words that start sentences without being names; a capitalised first word outside this list is checked.
_COMMON_STARTERS = frozenset(
    _words(
        """a an the this that these those it its he she they we i you his her their our there here some many most
        one both each either neither no not yes however meanwhile also additionally moreover furthermore overall
        in on at for but and or so after before during while when where although though since because as if
        according based per from to with by of about following earlier later then finally first second third
        answer note sources source briefings briefing"""
    )
)
_IGNORED_TERMS = frozenset(
    terms("source sources briefing briefings article articles passage passages report reported state say mention")
)


@dataclass(frozen=True)
class Quantity:
    """A number as a value and, when written next to it, a unit (minute, dollar, percent...)."""

    value: float
    unit: str | None


@dataclass(frozen=True)
class Claim:
    """One sentence of an answer, with the source numbers its ``[n]`` markers cite (in order)."""

    text: str
    markers: tuple[int, ...]
    gap: str = ""  # what separated it from the previous claim in the answer (keeps line breaks)

    @property
    def bare(self) -> str:
        """The sentence without its markers: what is fact-checked and reported as unsupported."""
        return tidy(MARKER.sub("", self.text))


@dataclass(frozen=True)
class Facts:
    """What in a sentence must be found in its sources."""

    quantities: tuple[Quantity, ...]
    names: tuple[str, ...]
    terms: frozenset[str]


class Evidence:
    """A normalised view of supporting text, built once per set of cited sources."""

    def __init__(self, text: str) -> None:
        self.text = normalise(text)

    @cached_property
    def quantities(self) -> list[Quantity]:
        return quantities(self.text)

    @cached_property
    def words(self) -> frozenset[str]:
        return frozenset(_possessive_free(word.lower()) for word in _WORD.findall(self.text))

    @cached_property
    def terms(self) -> frozenset[str]:
        return frozenset(terms(self.text))

    def has_quantity(self, wanted: Quantity) -> bool:
        """Same value, and the same unit when the sentence names one ("2 hours" is not "two presidents")."""
        return any(
            found.value == wanted.value and (wanted.unit is None or found.unit == wanted.unit)
            for found in self.quantities
        )

    def has_name(self, name: str) -> bool:
        return _possessive_free(name.lower()) in self.words


# --------------------------------------------------------------------------------- normalisation
def normalise(text: str) -> str:
    """One surface form for the things that are written many ways: numbers, money, percentages, dates."""
    text = ISO_DATE.sub(_spell_iso_date, text)
    text = _MONTH_ABBREVIATION.sub(lambda match: _full_month(match.group(1)), text)
    text = _THOUSANDS.sub("", text)
    text = _ORDINAL.sub(r"\1", text)
    text = _MONEY.sub(_spell_money, text)
    text = _PERCENT.sub(r"\1 percent", text)
    text = _SINGULAR.sub(r"1 \1", text)
    return _NUMBER_WORD.sub(_number_digits, text)


def describe_date(iso: str | None) -> str:
    """A source's date as words, weekday included, so "on Sunday, February 20" can be checked against it."""
    match = ISO_DATE.fullmatch(iso or "")
    if match is None:
        return ""
    year, month, day = (int(part) for part in match.groups())
    try:
        weekday = date(year, month, day).strftime("%A")
    except ValueError:
        return ""
    return f"{weekday} {_MONTHS[month - 1]} {day} {year}"


def quantities(normalised: str) -> list[Quantity]:
    """Every number in normalised text, scaled, with its unit when one follows it."""
    found = []
    for match in _QUANTITY.finditer(normalised):
        value = float(match.group(1)) * _SCALES.get((match.group(2) or "").lower(), 1.0)
        unit = match.group(3)
        found.append(Quantity(value, _canonical_unit(unit) if unit else None))
    return found


def tidy(text: str) -> str:
    """Whitespace and punctuation left tidy after markers were taken out."""
    text = re.sub(r"[ \t]+([.,;:!?])", r"\1", text)
    return re.sub(r"[ \t]{2,}", " ", text).strip()


def _spell_iso_date(match: re.Match[str]) -> str:
    year, month, day = (int(part) for part in match.groups())
    if not 1 <= month <= 12:
        return match.group()
    return f"{_MONTHS[month - 1]} {day} {year}"


def _full_month(abbreviation: str) -> str:
    prefix = abbreviation[:3].lower()
    return next(month for month in _MONTHS if month.lower().startswith(prefix))


def _spell_money(match: re.Match[str]) -> str:
    symbol = (match.group(1) or match.group(2)).lower()
    scale = (match.group(4) or "").lower()
    scale = _SCALE_ALIASES.get(scale, scale)
    return " ".join(part for part in (match.group(3).replace(",", ""), scale, _CURRENCY[symbol]) if part)


def _number_digits(match: re.Match[str]) -> str:
    if match.group(0).lower() == "a dozen":
        return "12"
    if match.group(3):
        return str(_VALUES[match.group(3).lower()])
    return str(_VALUES[match.group(1).lower()] + (_VALUES[match.group(2).lower()] if match.group(2) else 0))


def _canonical_unit(unit: str) -> str:
    unit = unit.lower()
    unit = _UNIT_CANON.get(unit, unit)
    return unit[:-1] if unit.endswith("s") else unit


def _possessive_free(word: str) -> str:
    return word[:-2] if word.endswith(("'s", "’s")) else word


# ------------------------------------------------------------------------------------ claims
def split_claims(answer: str) -> list[Claim]:
    """The answer's sentences; markers stranded at a sentence's start belong to the sentence before."""
    return [claim for claim, _ in _claims_at(answer)]


def settled_text(answer: str) -> str:
    """The start of a still-growing answer up to its last sentence: the sentences that are complete.

    A sentence is complete once the next one has begun with words, so markers written after its full stop
    are already part of it; the last sentence may still grow and is left out.
    """
    claims = _claims_at(answer)
    return answer[: claims[-1][1]] if len(claims) > 1 else ""


def _claims_at(answer: str) -> list[tuple[Claim, int]]:
    """Each claim with where it starts in ``answer``."""
    claims: list[tuple[Claim, int]] = []
    cursor = 0
    for span in sentence_spans(answer):
        gap, piece = answer[cursor : span.start], answer[span.start : span.end]
        start, cursor = span.start, span.end
        leading = re.match(rf"^(?:\s*{MARKER.pattern})+", piece, re.IGNORECASE)
        if leading and claims:
            claims[-1] = (_extended(claims[-1][0], piece[: leading.end()]), claims[-1][1])
            rest = piece[leading.end() :]
            piece = rest.lstrip()
            start += leading.end() + len(rest) - len(piece)
        if not re.search(r"\w", MARKER.sub("", piece)):
            if claims and piece:
                claims[-1] = (_extended(claims[-1][0], piece), claims[-1][1])
            continue
        claims.append((Claim(piece, markers_in(piece), gap if claims else ""), start))
    return claims


def markers_in(text: str) -> tuple[int, ...]:
    """Source numbers cited in ``text``, in order of appearance, each once."""
    numbers: list[int] = []
    for match in MARKER.finditer(text):
        for number in re.findall(r"\d+", match.group(1)):
            if int(number) not in numbers:
                numbers.append(int(number))
    return tuple(numbers)


def _extended(claim: Claim, tail: str) -> Claim:
    text = f"{claim.text} {tail.strip()}" if tail.strip().startswith("[") else claim.text + tail
    return Claim(text, markers_in(text), claim.gap)


# ------------------------------------------------------------------------------------- facts
def facts(sentence: str) -> Facts:
    """The quantities, names and content words of one sentence (markers already removed)."""
    normalised = normalise(sentence)
    numbers = tuple(q for q in quantities(normalised) if q.unit is not None or q.value not in (0.0, 1.0))
    return Facts(numbers, tuple(_names(normalised)), frozenset(terms(normalised)) - _IGNORED_TERMS)


def _names(normalised: str) -> list[str]:
    names = []
    for match in _WORD.finditer(_LABEL.sub("", normalised)):
        word = match.group()
        if not word[0].isupper() or word.isdigit() or word == "I":
            continue
        if word.lower() in _COMMON_STARTERS:  # "The", "However", "According": capitalised, not names
            continue
        names.append(word)
    return names


def unsupported_reason(sentence: str, evidence: Evidence) -> str | None:
    """Why ``sentence`` is not supported by ``evidence``, or ``None`` when it is."""
    found = facts(sentence)
    missing = [q for q in found.quantities if not evidence.has_quantity(q)]
    if missing:
        return f"number not in the cited source: {_show(missing[0])}"
    names = [name for name in found.names if not evidence.has_name(name)]
    if names:
        return f"name not in the cited source: {names[0]}"
    if found.terms and len(found.terms & evidence.terms) / len(found.terms) < MIN_TERM_SHARE:
        return "most of its words are not in the cited source"
    return None


def support_score(sentence_facts: Facts, evidence: Evidence) -> float:
    """How well a text backs a sentence: its facts count double, then the share of its words."""
    hits = sum(evidence.has_quantity(q) for q in sentence_facts.quantities)
    hits += sum(evidence.has_name(name) for name in sentence_facts.names)
    share = len(sentence_facts.terms & evidence.terms) / len(sentence_facts.terms) if sentence_facts.terms else 0.0
    return 2.0 * hits + share


def is_abstention(sentence: str) -> bool:
    """Does the sentence say that the sources do not tell something?"""
    return _ABSTENTION.search(sentence) is not None


def is_pure_abstention(sentence: str, question: Evidence, sources: Evidence) -> bool:
    """Only "the sources don't say ...": every clause abstains, numbers come from the question, names from
    the question or the sources; "X happened, but the sources don't say Y" states X uncited and fails."""
    clauses = [clause for clause in _CLAUSE_BREAK.split(sentence) if re.search(r"\w", clause)]
    if not clauses or not all(is_abstention(clause) for clause in clauses):
        return False
    found = facts(sentence)
    names_known = all(question.has_name(name) or sources.has_name(name) for name in found.names)
    return names_known and all(question.has_quantity(quantity) for quantity in found.quantities)


def _show(quantity: Quantity) -> str:
    value = int(quantity.value) if quantity.value.is_integer() else quantity.value
    return f"{value} {quantity.unit}" if quantity.unit else str(value)
