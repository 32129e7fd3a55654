"""The answer step reads each sentence's terms as the lexical index stored them, and works them out itself
only when the stored ones do not line up with the sentences it reads."""

from __future__ import annotations

import numpy as np

from assistant.answer.evidence import gather
from assistant.text.tokens import terms
from assistant.types import Passage
from index.sentence_vectors import quantise
from index.store import StoredChunk

TEXT = "Ferries resumed on Monday. The quay was repaired in 3 weeks."
SPANS = [(0, 26), (27, len(TEXT))]


def chunk(stored_terms: str | None) -> StoredChunk:
    sentences = quantise(SPANS, np.ones((2, 4), dtype=np.float32))
    return StoredChunk(
        "harbour.txt#1", "harbour.txt", "Harbour", None, 500, 500 + len(TEXT), TEXT, sentences, stored_terms
    )


def test_stored_terms_are_what_the_sentences_would_give() -> None:
    stored = "\n".join(" ".join(terms(TEXT[start:end])) for start, end in SPANS)
    candidates = gather([Passage(chunk(stored), 1.0, 0.5, None)], limit=1)
    assert [candidate.text for candidate in candidates] == [TEXT[start:end] for start, end in SPANS]
    assert [candidate.terms for candidate in candidates] == [frozenset(terms(c.text)) for c in candidates]
    assert candidates[1].terms is not None and "quay" in candidates[1].terms


def test_terms_that_do_not_line_up_are_not_used() -> None:
    candidates = gather([Passage(chunk("one line for two sentences"), 1.0, 0.5, None)], limit=1)
    assert len(candidates) == 2 and all(candidate.terms is None for candidate in candidates)
    assert all(candidate.terms is None for candidate in gather([Passage(chunk(None), 1.0, 0.5, None)], limit=1))
