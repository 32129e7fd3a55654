"""Words to terms: the one tokenizer for BM25, term overlap and answer spans.

Lower-cased, stop-word-free, Snowball-stemmed words. The lexical index (``index/lexical.py``) ranks by these
terms and the answer step matches question words to sentence words with the same function, so the two can
never disagree about what a word is. Pure functions; nothing here reads files or knows about the index,
and it must not import the index or the answer step, which both build on it.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

_WORD = re.compile(r"[0-9]+(?:[.,][0-9]+)*|[^\W\d_]+(?:['’][^\W\d_]+)?", re.UNICODE)
# A short list on purpose: question words such as "who" and "when" carry no content, but "first" or
# "last" often do, so the aggressive lists of IR toolkits are not used.
STOPWORDS = frozenset(
    """a an the and or but if of at by for with about against between into through during before after
    above below to from up down in out on off over under again further then once here there all any both each
    few more most other some such no nor not only own same so than too very s t can will just don should now
    is are was were be been being have has had having do does did doing i me my we our you your he him his she
    her it its they them their what which who whom whose this that these those am would could might must shall
    how when where why as also into onto per via said says according""".split()
)


def _accent_table() -> dict[int, str]:
    """Each accented Latin letter to its base letter, one character for one, so positions stay valid."""
    table: dict[int, str] = {}
    for code in range(0xC0, 0x250):
        base = unicodedata.normalize("NFD", chr(code))[0]
        if base != chr(code) and base.isascii():
            table[code] = base
    return table


_ACCENTS = _accent_table()


def fold(text: str) -> str:
    """ "Elysée" → "Elysee", keeping the length: people type names without accents, and a question's words
    must meet the article's in BM25 and term overlap either way."""
    return text.translate(_ACCENTS)


@lru_cache(maxsize=1)
def _stemmer():  # type: ignore[no-untyped-def]
    import Stemmer

    return Stemmer.Stemmer("english")


@lru_cache(maxsize=65536)
def sentence_terms(text: str) -> frozenset[str]:
    """The set of :func:`terms` of a sentence, cached: the same sentences come back question after question."""
    return frozenset(terms(text))


def _content_words(text: str) -> list[tuple[str, int]]:
    """Lower-cased words that are not stop words, with where each starts in ``text``."""
    words = ((match.group().lower().replace("’", "'"), match.start()) for match in _WORD.finditer(fold(text)))
    return [(word, start) for word, start in words if word not in STOPWORDS]


def terms(text: str) -> list[str]:
    """Lower-cased, stop-word-free, Snowball-stemmed words: the unit of BM25 and of term overlap.

    The same words as :func:`_content_words`, found without their positions: this runs on every candidate
    sentence of every question, and ``findall`` with no match objects takes half the time.
    """
    words = [word.lower().replace("’", "'") for word in _WORD.findall(fold(text))]
    return list(_stemmer().stemWords([word for word in words if word not in STOPWORDS]))


def terms_with_words(text: str) -> list[tuple[str, str]]:
    """``(term, word)`` pairs: the stemmed term and the word it came from (for general-English rarity)."""
    words = [word for word, _ in _content_words(text)]
    return list(zip(_stemmer().stemWords(words), words, strict=True))


def term_positions(text: str) -> list[tuple[str, int]]:
    """Each content word's term and where it starts, for locating question words inside a sentence."""
    found = _content_words(text)
    stems = _stemmer().stemWords([word for word, _ in found])
    return [(stem, start) for stem, (_, start) in zip(stems, found, strict=True)]
