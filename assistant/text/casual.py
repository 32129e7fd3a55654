"""Questions as people type them: lower case, no accents, no punctuation, fewer function words.

Two users ask the same thing as "Who initiated the call?" and "who started the call" or "elysee statement on
the call". The reader is trained on such forms (generated here from written questions) and the eval asks them
beside the written ones, so both sides must transform text the same way: this module is that one way.
Pure functions of their inputs (and of a caller's seeded ``random.Random``); must not import the index or
the answer step.
"""

from __future__ import annotations

import random
import re
import unicodedata

_NOT_WORD = re.compile(r"[^\w\s'-]")
DROPPABLE = frozenset(
    "a an the is are was were be been did does do of to in on at for by with that this has have had".split()
)


def fold_accents(text: str) -> str:
    """ "Elysée" → "Elysee": the letters people type on a keyboard without dead keys."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(character for character in decomposed if not unicodedata.combining(character))


def plain_casual(question: str) -> str:
    """Lower case, accents and punctuation dropped: the least a hurried user changes."""
    return " ".join(_NOT_WORD.sub(" ", fold_accents(question).lower()).split())


def terse(question: str, rng: random.Random, drop_share: float = 0.6) -> str:
    """:func:`plain_casual`, with each function word dropped at ``drop_share`` ("how long call last")."""
    words = plain_casual(question).split()
    kept = [word for word in words if word not in DROPPABLE or rng.random() > drop_share]
    return " ".join(kept or words)
