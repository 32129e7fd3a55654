"""Does the corpus, and does the evidence, talk about what the question talks about?

A sentence can rank first because it shares the question's common words ("call", "how long") while being
about other people: "How long was the Biden–Xi call?" against a briefing on a Putin–Macron call. Retrieval
always returns *something*, so the names a question uses (people, places, organisations, events) are
checked twice:

* against the whole corpus: a name that no article uses means the briefings cannot be about it, and the
  question is refused outright;
* not against the evidence article alone: questions often carry context the answering article leaves out
  ("Which European nation voted ...?" is answered by an article on France), and on the news development set
  the share of name words the article mentions did not help tell right answers from wrong ones.

Besides names, :func:`key_terms` gives the question's other content words; a short answer is only picked out
of a sentence whose article uses all of them (see :func:`assistant.answer.extractive.extract_answer`). And a
sentence that says "he" or "they" is taken to be about the names its passage mentions (:func:`with_referents`).

Matching is lenient about form (:meth:`index.lexical.LexicalIndex.knows`): "Ukrainian" matches "Ukraine",
"United" matches "united", and a name counts as known when each of its words is somewhere in the corpus.
Pure over the words given and the ``knows`` check passed in: must not open the index or read files itself.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence, Set

from assistant.text.name_words import is_name_word
from assistant.text.tokens import terms

# Capitalised words, possibly joined by a few lower-case connectors ("Bank of England", "Charles de Gaulle").
_NAME = re.compile(r"[A-Z][\w'’.&-]*(?:\s+(?:(?:of|de|da|del|von|van|al|bin|the|and|for|&)\s+)?[A-Z][\w'’.&-]*)*")
_CONNECTORS = frozenset("of de da del von van al bin the and for &".split())
# Capitalised for grammar, not because they name anything.
_NOT_NAMES = frozenset(
    """
    who whom whose what which when where why how is was are were did does do has have had will would can could
    should may might according in on at for after before during since the a an this that these those it he she
    they we i you his her their its our if and but or so as by from to with of about between than also
    mr mrs ms dr sir saint st monday tuesday wednesday thursday friday saturday sunday january february march
    april may june july august september october november december today yesterday tomorrow
    """.split()
)
_POSSESSIVE = re.compile(r"['’]s?$")
_WORD = re.compile(r"[^\W\d_]+", re.UNICODE)


def question_names(question: str) -> tuple[str, ...]:
    """The names a question uses: capitalised phrases, without grammar words and the question's first word,
    then any other word that news writes as a name (:mod:`assistant.text.name_words`), whatever its case.

    The first word is capitalised because it starts the sentence, so its capital counts only as part of a
    longer name ("Joe Biden said ..."). Dotted abbreviations ("U.S.") are skipped: their spellings vary too
    much. The name-word list makes "what did biden say to macron" name Biden as "What did Biden say to
    Macron?" does: people typing casually drop the capitals, not the names.
    """
    names: list[str] = []
    for match in _NAME.finditer(question):
        words = [_POSSESSIVE.sub("", word).strip(".") for word in match.group().split()]
        if match.start() == _first_word_start(question) and len(words) == 1:
            continue
        kept = [w for w in words if w and w.lower() not in _NOT_NAMES and not _is_dotted(w) and len(w) > 1]
        if kept and any(w[0].isupper() for w in kept):
            names.append(" ".join(kept))
    named = {word.lower() for name in names for word in _WORD.findall(name)}
    for word in _WORD.findall(question):
        lowered = word.lower()
        if lowered not in named and lowered not in _NOT_NAMES and is_name_word(word):
            names.append(word)
            named.add(lowered)
    return tuple(dict.fromkeys(names))


def _first_word_start(text: str) -> int:
    match = re.search(r"\S", text)
    return match.start() if match else 0


def _is_dotted(word: str) -> bool:
    return "." in word


# Countries whose adjective does not start as the country does, so the first-letters leniency of ``knows``
# cannot pair them: "did france ask for the call" is about a briefing that says "the French side".
_SAME_PLACE = (
    "france french",
    "spain spanish",
    "netherlands holland dutch",
    "wales welsh",
    "switzerland swiss",
    "greece greek",
    "ireland irish",
    "denmark danish",
    "finland finnish",
    "poland polish",
    "scotland scottish scots",
    "thailand thai",
    "philippines filipino philippine",
    "cyprus cypriot",
    "britain british uk",
)
_COUNTERPARTS = {word: set(group.split()) - {word} for group in _SAME_PLACE for word in group.split()}


def unknown_names(names: tuple[str, ...], corpus_knows: Callable[[str], bool]) -> list[str]:
    """The names of which some word occurs in no article of the corpus (a country counts as known where the
    corpus uses its adjective, and the other way round)."""
    return [name for name in names if not all(_known(word, corpus_knows) for word in _name_words(name))]


def _known(word: str, corpus_knows: Callable[[str], bool]) -> bool:
    return corpus_knows(word) or any(corpus_knows(other) for other in _COUNTERPARTS.get(word.lower(), ()))


def _name_words(name: str) -> list[str]:
    return [word for word in re.split(r"[\s-]+", name) if word and word.lower() not in _CONNECTORS]


# Words that say what kind of answer is wanted ("how long", "which day"), not what it is about.
_ASKING_TERMS = frozenset(
    terms("duration length long many much old time times day date year month week number amount name kind type sort")
)


def key_terms(question: str, head: str | None = None) -> frozenset[str]:
    """The question's content terms (stemmed) without its names and the words that only ask for a kind of
    answer: what a sentence must be about before one of its phrases can be offered as the answer."""
    named = {term for name in question_names(question) for term in terms(name)}
    return frozenset(terms(question)) - named - _ASKING_TERMS - set(terms(head or ""))


_PERSONAL_PRONOUN = re.compile(r"\b(?:he|she|they|his|her|their|him|them)\b", re.IGNORECASE)


def with_referents(
    sentences: Sequence[str], found: Sequence[frozenset[str]], around: Sequence[Set[str]], names: Set[str]
) -> list[frozenset[str]]:
    """Each sentence's terms (``found``), where a sentence that says "he" or "they" also counts the question's
    name terms that its passage (``around``) mentions.

    "He further stated that the escalation is due to provocation by Ukrainian security forces" is about Putin
    when its passage names him, and answers "Who did Putin blame for the escalation?". Without this the
    passage's opening sentence, which names everyone, wins every question that names its people. Only
    personal pronouns stand in for names: a name the passage gives in one sentence ("Elysée") keeps telling
    that sentence apart from the rest.
    """
    if not names:
        return list(found)
    asked = frozenset(names)
    return [
        terms_of | (asked & passage) if _PERSONAL_PRONOUN.search(sentence) else terms_of
        for sentence, terms_of, passage in zip(sentences, found, around, strict=True)
    ]
