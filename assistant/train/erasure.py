"""Answer-erased twins: the answering sentence with its answer taken out, as a "topic present, answer absent"
negative that differs from the positive in the answer alone.

"Putin and Macron spoke on Sunday" answers "when did Putin and Macron speak?"; "Putin and Macron spoke" does
not, though it shares every word of the question. Other negatives differ from the positive in many words, so
a reader can learn them from word overlap; this one only by checking that something of the asked kind (a day,
a person, a number) is there. An answer after a preposition goes with its preposition ("on Sunday"), as an
adjunct leaves a grammatical sentence behind; one in a subject or object slot is replaced by a vague stand-in
of its kind ("someone initiated the call"), which names nothing the question asks for.
Pure functions of their inputs; must not import the index or the answer step.
"""

from __future__ import annotations

import re

PREPOSITIONS = frozenset(
    "on in at by for from to of since during until after before about with than over under near into"
    " across between among within throughout".split()
)
# spaCy entity label → a phrase of that kind that answers nothing
STAND_INS: dict[str, str] = {
    "PERSON": "someone",
    "ORG": "a group",
    "NORP": "some people",
    "GPE": "somewhere",
    "LOC": "somewhere",
    "FAC": "a place",
    "DATE": "some time",
    "TIME": "some time",
    "CARDINAL": "some",
    "MONEY": "an undisclosed sum",
    "PERCENT": "part",
    "QUANTITY": "some",
    "EVENT": "an event",
    "PRODUCT": "something",
    "LAW": "a rule",
    "WORK_OF_ART": "a work",
}
_WORD_BEFORE = re.compile(r"(\w+)\s+$")
# a stand-in cannot follow these: "the someone administration", "President someone"
MODIFIED_BY = frozenset("the a an its his her their our my your this that these those".split())


def erased(sentence: str, start: int, end: int, label: str | None = None) -> str | None:
    """``sentence`` without its answer at ``[start:end]``, or ``None`` when no clean sentence is left.

    With a preposition just before the answer, both go; otherwise the answer is replaced by the stand-in for
    ``label`` (no label: no twin, as a wrong stand-in would teach nonsense)."""
    before, after = sentence[:start], sentence[end:]
    preposition = _WORD_BEFORE.search(before)
    if preposition and preposition.group(1).lower() in PREPOSITIONS and preposition.start() > 0:
        text = before[: preposition.start()].rstrip() + after
    elif label in STAND_INS and _stands_alone(before, after):
        stand_in = STAND_INS[label]
        if not before.strip():
            stand_in = stand_in[0].upper() + stand_in[1:]
        text = before + stand_in + after
    else:
        return None
    text = re.sub(r"\s+([,.;:!?])", r"\1", re.sub(r"\s{2,}", " ", text)).strip()
    text = re.sub(r",\s*,", ",", text)
    if len(text.split()) < 4 or text == sentence:
        return None
    return text


def _stands_alone(before: str, after: str) -> bool:
    """Whether the answer is a phrase of its own, not a modifier ("the Biden administration"), a title's
    name ("Pope Francis"), a possessor ("Russia's"), or glued to a sign ("$40")."""
    if before and not before[-1].isspace():
        return False
    if re.match(r"['’]s\b", after):
        return False
    word = _WORD_BEFORE.search(before)
    return word is None or (word.group(1).lower() not in MODIFIED_BY and not word.group(1)[0].isupper())
