"""Questions generated from a corpus's own sentences, with the answer's place in the sentence.

Answer candidates are spaCy's named entities, dates and numbers; each becomes a question by rule, in the
spirit of Heilman & Smith's overgenerate-and-rank question generation, without the ranking:

* **subject questions** — an entity that is (inside) the sentence's subject is replaced by its wh-word and
  the predicate kept: "The French side initiated the call" → "Who initiated the call?";
* **in-situ questions** — otherwise the wh-word stands where the entity stood, trimmed to the clause around it
  ("… was initiated by which side?"), as people ask when they echo a text;
* **key-word questions** — the wh-word and a sample of the sentence's content words ("how long call macron
  putin"), the terse way people type into a search box.

Each also gets a casual copy (:mod:`assistant.text.casual`) and, where a verb or noun has a common
synonym, a reworded one, so that the reader learns meaning rather than shared letters. A seeded
``random.Random`` makes every choice, so the same corpus gives the same questions.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from assistant.answer.conversation import ASKING_WORDS
from assistant.text.casual import plain_casual, terse
from assistant.train.frames import frame_questions

# spaCy entity label → the wh-phrase that asks for it
WH_WORDS: dict[str, tuple[str, ...]] = {
    "PERSON": ("who",),
    "ORG": ("which organization", "who", "what group"),
    "GPE": ("where", "which country", "what place"),
    "LOC": ("where",),
    "FAC": ("where", "what place"),
    "DATE": ("when", "what date"),
    "TIME": ("when", "what time"),
    "CARDINAL": ("how many",),
    "MONEY": ("how much", "how much money"),
    "PERCENT": ("what percentage", "how much"),
    "QUANTITY": ("how much", "how far", "how many"),
    "NORP": ("which group", "who", "which nationality"),
    "EVENT": ("what event", "what"),
    "PRODUCT": ("what",),
    "LAW": ("which law", "what"),
    "WORK_OF_ART": ("what",),
}
AGE_LIKE = ("year-old", "years old", "-month-old")
DURATION_CUES = ("minute", "hour", "day", "week", "month", "year", "second")
SUBJECT_DEPS = frozenset({"nsubj", "nsubjpass"})
CONTENT_POS = frozenset({"NOUN", "PROPN", "VERB", "NUM", "ADJ"})
MAX_ANSWER_WORDS = 6
# Common news verbs and nouns with a plain synonym: a question rarely repeats the article's own word.
SYNONYMS: dict[str, tuple[str, ...]] = {
    "said": ("stated", "told"),
    "says": ("states",),
    "initiated": ("started", "began"),
    "began": ("started",),
    "started": ("began", "launched"),
    "launched": ("started",),
    "announced": ("declared", "revealed"),
    "killed": ("left dead",),
    "died": ("was killed",),
    "lasted": ("took",),
    "called": ("phoned",),
    "agreed": ("accepted",),
    "rejected": ("refused",),
    "refused": ("declined",),
    "attacked": ("struck",),
    "arrested": ("detained",),
    "elected": ("voted in",),
    "resigned": ("stepped down",),
    "won": ("secured",),
    "reported": ("said",),
    "accused": ("blamed",),
    "warned": ("cautioned",),
    "ended": ("finished",),
    "call": ("conversation", "phone call"),
    "talks": ("negotiations",),
    "meeting": ("talks",),
    "president": ("leader",),
    "company": ("firm",),
    "government": ("administration",),
    "people": ("persons",),
    "ceasefire": ("truce",),
    "cease-fire": ("truce",),
    "restoration": ("restoring",),
    "discussion": ("talk",),
    "increase": ("rise",),
    "decrease": ("drop",),
    "purchase": ("buy",),
    "attempt": ("try",),
}


@dataclass(frozen=True)
class Generated:
    """A question and where its answer lies in the sentence it came from (offsets into the sentence)."""

    question: str
    answer_start: int
    answer_end: int
    form: str  # subject, in-situ, keywords (+ "-casual" / "-reworded")


def wh_phrase(entity: Any, rng: random.Random) -> str | None:
    """The wh-phrase asking for ``entity``; a date-like entity naming a span of time asks "how long"."""
    label = entity.label_
    lowered = entity.text.lower()
    names_a_length = lowered.split()[0] in ("for", "an", "a", "two", "three", "several") or "hour" in lowered
    if label in ("DATE", "TIME") and any(cue in lowered for cue in DURATION_CUES) and names_a_length:
        return "how long"
    choices = WH_WORDS.get(label)
    return rng.choice(choices) if choices else None


def questions_for(sentence: Any, rng: random.Random) -> Iterator[Generated]:
    """One question per usable entity of a parsed spaCy sentence (at most two per sentence)."""
    entities = [
        e
        for e in sentence.ents
        if len(e.text.split()) <= MAX_ANSWER_WORDS and e.text.strip() and not any(a in e.text for a in AGE_LIKE)
    ]
    rng.shuffle(entities)
    for entity in entities[:2]:
        wh = wh_phrase(entity, rng)
        if wh is None:
            continue
        start, end = entity.start_char - sentence.start_char, entity.end_char - sentence.start_char
        question = _subject_question(sentence, entity, wh) or _in_situ_question(sentence, entity, wh, rng)
        if question is None:
            continue
        form = "subject" if question.startswith(wh[0].upper() + wh[1:] + " ") and _is_subject(entity) else "in-situ"
        if rng.random() < 0.4:
            question, form = _keyword_question(sentence, entity, wh, rng), "keywords"
        question, form = _varied(question, form, rng)
        if _answer_leaks(question, entity.text):
            continue
        yield Generated(question, start, end, form)


def all_questions(sentence: Any, rng: random.Random) -> Iterator[Generated]:
    """Entity questions, then the wh-movement and absent-slot questions of :mod:`assistant.train.frames`
    (an absent-slot one has offsets -1: the sentence cannot answer it)."""
    yield from questions_for(sentence, rng)
    for asked in frame_questions(sentence, rng):
        question, form = _varied(asked.question, asked.form, rng)
        yield Generated(question, asked.answer_start, asked.answer_end, form)


_WH_PHRASE = re.compile(
    r"\b(how (?:long|many|much|far)|which \w+|what (?:date|time|place|group|percentage)|who|when|where|what)\b",
    re.IGNORECASE,
)


def follow_up_form(question: str) -> str | None:
    """The question as the answer step reads a follow-up: the asked phrase, then the conversation subject's
    words ("when — putin and macron speak on the phone", as "when?" after a question about the call reads),
    so the reader learns that form; ``None`` when the question names no asked phrase or too little else."""
    found = _WH_PHRASE.search(question)
    if found is None:
        return None
    rest = f"{question[: found.start()]} {question[found.end() :]}"
    words = [word for word in re.sub(r"[?!.,]", " ", rest).split() if word.lower() not in ASKING_WORDS]
    if len(words) < 2:
        return None
    return f"{found.group(0)} — {' '.join(words)}"


def _is_subject(entity: Any) -> bool:
    return any(token.dep_ in SUBJECT_DEPS for token in (entity.root, *entity.root.ancestors)) and (
        entity.root.head.pos_ in ("VERB", "AUX") or entity.root.dep_ in SUBJECT_DEPS
    )


def _subject_question(sentence: Any, entity: Any, wh: str) -> str | None:
    """ "<Wh> <predicate>?" when the entity is the whole subject of the sentence's main verb."""
    root = entity.root
    if root.dep_ not in SUBJECT_DEPS or root.head != sentence.root:
        return None
    subject = list(root.subtree)
    if subject[0].i < entity.start - 0 or subject[-1].i >= entity.end + 1:
        return None  # the subject says more than the entity ("the wife of X"): asking "who" would be wrong
    rest = sentence.doc[subject[-1].i + 1 : sentence.end].text.strip().rstrip(".!;:")
    if len(rest.split()) < 2:
        return None
    return f"{wh[0].upper()}{wh[1:]} {rest}?"


def _in_situ_question(sentence: Any, entity: Any, wh: str, rng: random.Random) -> str | None:
    """The clause around the entity with the wh-phrase in its place."""
    head = entity.root.head
    while head.dep_ not in ("ROOT", "ccomp", "advcl", "relcl", "conj") and head.head != head:
        head = head.head
    tokens = list(head.subtree)
    left, right = tokens[0].idx, tokens[-1].idx + len(tokens[-1].text)
    text = sentence.doc.text
    clause = text[left : entity.start_char] + wh + text[entity.end_char : right]
    clause = clause.strip().rstrip(".!;:,")
    if len(clause.split()) < 4 or len(clause.split()) > 30:
        return None
    return f"{clause[0].upper()}{clause[1:]}?"


def _keyword_question(sentence: Any, entity: Any, wh: str, rng: random.Random) -> str:
    """The wh-phrase and some content words of the sentence, none of the answer's."""
    words = [
        token.lemma_.lower() if token.pos_ == "VERB" and rng.random() < 0.5 else token.text.lower()
        for token in sentence
        if token.pos_ in CONTENT_POS and not (entity.start <= token.i < entity.end)
    ]
    kept = [word for word in words if rng.random() < 0.55][:7] or words[:3]
    return " ".join([wh, *kept])


def _varied(question: str, form: str, rng: random.Random) -> tuple[str, str]:
    """Sometimes reworded with a synonym, sometimes typed casually: the forms users really send."""
    if rng.random() < 0.35:
        question, changed = reword(question, rng)
        if changed:
            form += "-reworded"
    roll = rng.random()
    if roll < 0.25:
        return plain_casual(question), form + "-casual"
    if roll < 0.4:
        return terse(question, rng), form + "-casual"
    return question, form


def reword(question: str, rng: random.Random) -> tuple[str, bool]:
    """``question`` with one word replaced by a synonym from :data:`SYNONYMS`, and whether one was."""
    words = question.split(" ")
    places = [i for i, word in enumerate(words) if word.lower().strip("?,.") in SYNONYMS]
    if not places:
        return question, False
    place = rng.choice(places)
    bare = words[place].lower().strip("?,.")
    words[place] = words[place].lower().replace(bare, rng.choice(SYNONYMS[bare]))
    return " ".join(words), True


def _answer_leaks(question: str, answer: str) -> bool:
    """A question that still contains its own answer would teach the reader to copy, not to find."""
    return plain_casual(answer) in plain_casual(question)
