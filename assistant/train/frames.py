"""Questions by wh-movement over the dependency parse, and the questions a sentence cannot answer.

Entity questions (:mod:`assistant.train.questions`) only ever ask for a named entity, so the reader never
learned that "the French side", "sophisticated weaponry and ammunition" or "a cease-fire" are answers too,
and its in-situ questions read like echoes ("… was initiated by which side?"). Here the main clause of a
sentence is taken apart as Heilman & Smith's question generator does (subject, auxiliary, verb, the rest) and
put back as a question with the asked part moved to the front:

* **object questions** — "NATO countries flood Ukraine with weapons" → "What do NATO countries flood Ukraine
  with?" is left to the in-situ rule; a direct object gives "What did the presidents agree to step up?", and
  an object counted by a number gives "How many men did police arrest?" (answer: the number);
* **adjunct questions** — a date, place or time phrase hanging off the verb ("on Sunday", "in Moscow") is
  removed and asked for: "When did Putin and Macron hold talks?";
* **subject noun phrases** — "The French side initiated the call" → "Which side initiated the call?";
* **absent-slot questions** — the same clause asked "when", "where", "how many" or "how long" when the
  sentence holds no answer of that kind: "How many civilians did the administrations begin evacuating?" of a
  sentence that gives no number. Topic present, answer absent: the negative that shared words cannot tell
  apart, and the one the reader most needs to refuse.

Pure functions of a parsed spaCy sentence and a caller's seeded ``random.Random``.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from assistant.text.casual import plain_casual

MAX_ANSWER_WORDS = 6
MIN_REST_WORDS = 1
MAX_QUESTION_WORDS = 28
DO_SUPPORT = {"VBD": "did", "VBZ": "does", "VBP": "do"}
DROPPED_CHILDREN = frozenset({"conj", "cc", "advcl", "parataxis", "punct", "mark", "dep", "discourse"})
SUBJECTS = frozenset({"nsubj", "nsubjpass"})
PRONOUNS = frozenset("i you he she it we they this that these those who which what".split())
PEOPLE_LABELS = frozenset({"PERSON", "ORG", "NORP"})
# what each wh-word asks for: the entity labels that answer it
SLOTS: dict[str, frozenset[str]] = {
    "when": frozenset({"DATE", "TIME"}),
    "where": frozenset({"GPE", "LOC", "FAC"}),
    "how many": frozenset({"CARDINAL", "QUANTITY", "MONEY", "PERCENT"}),
    "how much": frozenset({"MONEY", "QUANTITY", "PERCENT", "CARDINAL"}),
}
ADJUNCT_WH = {"DATE": "when", "TIME": "when", "GPE": "where", "LOC": "where", "FAC": "where"}
ADJUNCT_DEPS = frozenset({"prep", "npadvmod", "advmod", "tmod", "obl"})


@dataclass(frozen=True)
class Asked:
    """A question; the answer's offsets in the sentence, or (-1, -1) when the sentence cannot answer it."""

    question: str
    answer_start: int
    answer_end: int
    form: str


@dataclass(frozen=True)
class Clause:
    """The main clause taken apart: who does it, the auxiliary that moves, the verb as it stays, the rest."""

    root: Any
    subject: Any
    auxiliary: str
    verb: str
    rest: list[Any]  # tokens after the verb that stay in the question, in order


def clause_of(sentence: Any) -> Clause | None:
    """The sentence's main clause, when it is a plain statement with a subject (not reported speech)."""
    root = sentence.root
    if root.pos_ not in ("VERB", "AUX") or any(child.dep_ == "ccomp" for child in root.children):
        return None
    subjects = [child for child in root.children if child.dep_ in SUBJECTS]
    if len(subjects) != 1:
        return None
    subject = subjects[0]
    auxiliaries = [child for child in root.children if child.dep_ in ("aux", "auxpass") and child.i < root.i]
    if auxiliaries:
        moved = auxiliaries[0]
        auxiliary, verb = moved.text.lower(), " ".join(t.text for t in [*auxiliaries[1:], root])
    elif root.tag_ in DO_SUPPORT and root.lemma_.lower() != "be":
        auxiliary, verb = DO_SUPPORT[root.tag_], root.lemma_
    else:
        return None
    dropped: set[int] = set()
    for child in root.children:
        if child.dep_ in DROPPED_CHILDREN and child.i > root.i:
            dropped.update(token.i for token in child.subtree)
    rest = [token for token in sentence if token.i > root.i and token.i not in dropped and not _breaks(token)]
    return Clause(root, subject, auxiliary, verb, rest)


def frame_questions(sentence: Any, rng: random.Random) -> list[Asked]:
    """At most one answerable wh-movement question and one absent-slot question for ``sentence``."""
    clause = clause_of(sentence)
    if clause is None:
        return []
    offset = sentence.start_char
    found: list[Asked] = []
    answerable = [*_object_questions(clause, offset), *_adjunct_questions(sentence, clause, offset)]
    subject = _subject_question(clause, offset)
    if subject is not None:
        answerable.append(subject)
    if answerable:
        found.append(rng.choice(answerable))
    absent = _absent_slot_question(sentence, clause, rng)
    if absent is not None:
        found.append(absent)
    return [asked for asked in found if _usable(asked, sentence)]


def _question(wh: str, clause: Clause, rest: list[Any]) -> str:
    tokens = list(clause.subject.subtree)
    subject = _text(tokens)
    subject = subject if tokens[0].pos_ == "PROPN" or tokens[0].ent_type_ else _lower_first(subject)
    words = [wh, clause.auxiliary, subject, clause.verb, _text(rest)]
    question = " ".join(word for word in words if word)
    return f"{question[0].upper()}{question[1:]}?"


def _object_questions(clause: Clause, offset: int) -> list[Asked]:
    """The direct object asked for ("what"/"who"), or its number ("how many men")."""
    found = []
    for child in clause.root.children:
        if child.dep_ != "dobj" or child.lower_ in PRONOUNS:
            continue
        phrase = list(child.subtree)
        rest = [token for token in clause.rest if token not in phrase]
        if len(phrase) > MAX_ANSWER_WORDS:
            continue
        numbers = [token for token in child.children if token.dep_ == "nummod"]
        if numbers and child.tag_ == "NNS":
            number = numbers[0]
            counted = " ".join(t.text for t in phrase if t.i > number.i)
            question = _question(f"how many {counted}", clause, rest)
            found.append(Asked(question, number.idx - offset, number.idx + len(number.text) - offset, "count"))
            continue
        wh = "who" if child.ent_type_ in PEOPLE_LABELS else "what"
        start, end = phrase[0].idx - offset, phrase[-1].idx + len(phrase[-1].text) - offset
        found.append(Asked(_question(wh, clause, rest), start, end, "object"))
    return found


def _adjunct_questions(sentence: Any, clause: Clause, offset: int) -> list[Asked]:
    """A date or place phrase on the verb ("on Sunday", "in Moscow") moved out and asked for."""
    found = []
    for entity in sentence.ents:
        wh = ADJUNCT_WH.get(entity.label_)
        if wh is None or len(entity.text.split()) > MAX_ANSWER_WORDS:
            continue
        phrase = _verb_child_holding(clause.root, entity)
        if phrase is None or len(phrase) > len(entity) + 2:
            continue  # the date is buried inside a longer phrase: moving it would change the question
        rest = [token for token in clause.rest if token not in phrase]
        if len(rest) < MIN_REST_WORDS:
            continue
        start, end = entity.start_char - offset, entity.end_char - offset
        found.append(Asked(_question(wh, clause, rest), start, end, "adjunct"))
    return found


def _verb_child_holding(root: Any, entity: Any) -> list[Any] | None:
    for child in root.children:
        if child.dep_ not in ADJUNCT_DEPS or child.i < root.i:
            continue
        tokens = list(child.subtree)
        if tokens[0].i <= entity.start and entity.end - 1 <= tokens[-1].i:
            return tokens
    return None


def _subject_question(clause: Clause, offset: int) -> Asked | None:
    """ "The French side initiated the call" → "Which side initiated the call?" (a described subject)."""
    subject = clause.subject
    phrase = list(subject.subtree)
    described = [t for t in subject.children if t.dep_ in ("amod", "compound", "nmod", "poss")]
    if not subject.is_alpha or subject.pos_ != "NOUN" or len(phrase) > MAX_ANSWER_WORDS or not described:
        return None
    if any(child.dep_ in ("prep", "relcl", "acl") for child in subject.children):
        return None  # "a quarter of Iowa adults": the head noun alone asks nothing
    head = f"which {subject.text.lower()}"
    if clause.auxiliary in DO_SUPPORT.values():  # no do-support for a subject question: "which side initiated"
        question = " ".join([head, clause.root.text, _text(clause.rest)])
    else:
        question = " ".join([head, clause.auxiliary, clause.verb, _text(clause.rest)])
    start, end = phrase[0].idx - offset, phrase[-1].idx + len(phrase[-1].text) - offset
    return Asked(f"{question[0].upper()}{question[1:].strip()}?", start, end, "subject-phrase")


def _absent_slot_question(sentence: Any, clause: Clause, rng: random.Random) -> Asked | None:
    """The clause asked for a kind of answer the sentence does not hold: a refusal to learn."""
    labels = {entity.label_ for entity in sentence.ents}
    has_number = any(token.like_num for token in sentence)
    absent = [wh for wh, answers in SLOTS.items() if not labels & answers and not (wh.startswith("how") and has_number)]
    if not absent or not clause.rest:
        return None
    wh = rng.choice(absent)
    if wh == "how many":
        objects = [
            c for c in clause.root.children if c.dep_ == "dobj" and c.tag_ == "NNS" and len(list(c.subtree)) <= 3
        ]
        if not objects:
            return None
        counted = objects[0]
        rest = [token for token in clause.rest if token not in list(counted.subtree)]
        return Asked(_question(f"how many {counted.text.lower()}", clause, rest), -1, -1, "absent-slot")
    if wh == "how much":
        return None  # "how much did X agree" rarely reads as a question; the other slots are enough
    return Asked(_question(wh, clause, clause.rest), -1, -1, "absent-slot")


def _usable(asked: Asked, sentence: Any) -> bool:
    words = asked.question.split()
    if len(words) < 3 or len(words) > MAX_QUESTION_WORDS:
        return False
    if asked.answer_start < 0:
        return True
    answer = sentence.text[asked.answer_start : asked.answer_end]
    return bool(answer.strip()) and plain_casual(answer) not in plain_casual(asked.question)


def _breaks(token: Any) -> bool:
    """Punctuation that ends or splits a clause; a hyphen or slash inside "8-1" or "and/or" stays."""
    return bool(token.is_punct) and token.text not in ("-", "–", "/", "'", "’", "%")


def _text(tokens: list[Any]) -> str:
    """Tokens joined with the spacing they had in the sentence, and a space where a token was left out."""
    parts: list[str] = []
    for token, following in zip(tokens, [*tokens[1:], None][: len(tokens)], strict=True):
        gap = following is not None and following.i != token.i + 1
        parts.append(token.text + (" " if token.whitespace_ or gap else ""))
    return "".join(parts).strip().rstrip(",;:")


def _lower_first(text: str) -> str:
    """ "The call" → "the call" inside a question; "US" and "I" stay as they are."""
    return text[:1].lower() + text[1:] if text[:2] != text[:2].upper() else text
