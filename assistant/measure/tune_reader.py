"""Fit the reader's two thresholds (``briefings tune-reader``), and report them cross-validated.

The reader says how likely its best sentence answers; the *answer threshold* turns that into "answer or
refuse", and the *span threshold* into "short answer or whole sentence". Both are fitted on what the real
answer path shows for each question of a development set, never abstaining, plus the same questions with
their evidence articles hidden ("topic present, answer absent": the corpus no longer holds the answer), so the
refusals it learns are the hard kind:

* answer threshold: the one that helps a reader most — a right answer +1, a wrong one shown −1, a correct
  refusal +1, an answer to what the corpus cannot answer −1;
* span threshold: the lowest span confidence at which short answers are right at least
  :data:`SPAN_PRECISION` of the time (never short, if none reaches it).

Figures on the fitting set itself would flatter, so :func:`cross_validated` fits on k−1 folds and scores the
k-th. Owns observing and fitting; must not change how answers are read or write any file.
"""

from __future__ import annotations

import random
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from assistant.answer.reading import MAX_SPAN_WORDS, Thresholds, read_candidates, shortlist
from assistant.measure.evaluation import contains_answer
from assistant.measure.questions import evidence_docs, load_question_set

SPAN_PRECISION = 0.9
MIN_SHORT_ANSWERS = 5
HIDDEN_ANSWER_DEPTH = 10
FOLDS = 5


@dataclass(frozen=True)
class Observed:
    """What the reader made of one question (never abstaining), and whether each way of showing it is right."""

    qid: str
    answerable: bool
    probability: float
    sentence_right: bool
    span_probability: float
    span_right: bool
    span_usable: bool  # short enough and not the whole sentence


def observe(service: Any, paths: list[Path], hide_evidence: bool = True) -> list[Observed]:
    """One observation per question, and one more per answerable question with its evidence hidden."""
    seen: list[Observed] = []
    for path in paths:
        for item in load_question_set(path):
            if "turns" in item:
                continue
            golds = [str(a) for a in item.get("answers") or []]
            answerable = bool(item.get("answerable", bool(golds)))
            asked = [(frozenset[str](), answerable)]
            sources = evidence_docs(item)
            if hide_evidence and answerable and sources:
                asked.append((sources, False))
            for hidden, still_answerable in asked:
                found = _observe_one(service, str(item["id"]), str(item["question"]), golds, hidden, still_answerable)
                if found is not None:
                    seen.append(found)
    return seen


def _observe_one(
    service: Any, qid: str, question: str, golds: list[str], hidden: frozenset[str], answerable: bool
) -> Observed | None:
    evidence = service.evidence(question, [], exclude=hidden)
    if hidden and any(contains_answer(c.text, golds) for c in evidence.ranked[:HIDDEN_ANSWER_DEPTH]):
        return None  # another article holds the answer too: not a question the corpus cannot answer
    reads = read_candidates(
        service.reader, evidence.focus, shortlist(evidence.ranked, service.settings.reader_sentences), evidence.said
    )
    if not reads:
        return Observed(qid, answerable, 0.0, False, 0.0, False, False)
    best = reads[0]
    span = best.span_text or ""
    return Observed(
        qid + ("-hidden" if hidden else ""),
        answerable,
        1.0 / (1.0 + pow(2.718281828, -best.logit)),
        answerable and contains_answer(best.candidate.text, golds),
        best.reading.span_probability,
        answerable and bool(span) and contains_answer(span, golds),
        bool(span) and len(span.split()) <= MAX_SPAN_WORDS and span.strip() != best.candidate.text.strip(),
    )


def fit_thresholds(observed: list[Observed]) -> Thresholds:
    return Thresholds(answer=_answer_threshold(observed), span=_span_threshold(observed))


def _answer_threshold(observed: list[Observed]) -> float:
    candidates = sorted({round(o.probability, 4) for o in observed} | {0.5})
    best, best_gain = 0.5, float("-inf")
    for threshold in candidates:
        gain = 0.0
        for o in observed:
            answered = o.probability >= threshold
            if o.answerable:
                gain += (1.0 if o.sentence_right else -1.0) if answered else 0.0
            else:
                gain += -1.0 if answered else 1.0
        if gain > best_gain:
            best, best_gain = threshold, gain
    return best


def _span_threshold(observed: list[Observed]) -> float:
    usable = sorted((o for o in observed if o.answerable and o.span_usable), key=lambda o: o.span_probability)
    for begin, o in enumerate(usable):
        above = usable[begin:]
        if len(above) >= MIN_SHORT_ANSWERS and sum(x.span_right for x in above) / len(above) >= SPAN_PRECISION:
            return round(o.span_probability, 4)
    return 1.01  # no confidence gives precise enough short answers: always show the sentence


def shown(o: Observed, thresholds: Thresholds) -> dict[str, bool]:
    """How a reader would see ``o`` under ``thresholds``."""
    answered = o.probability >= thresholds.answer
    short = answered and o.span_usable and o.span_probability >= thresholds.span
    right = answered and o.answerable and (o.span_right if short else o.sentence_right)
    return {"answered": answered, "short": short, "right": right}


def figures(observed: list[Observed], thresholds: list[Thresholds]) -> dict[str, float | None]:
    """answer_correct, short-answer rate and precision, wrong rate and both refusal rates."""
    views = [(o, shown(o, t)) for o, t in zip(observed, thresholds, strict=True)]
    answerable = [(o, v) for o, v in views if o.answerable]
    others = [(o, v) for o, v in views if not o.answerable]
    answered = [v for _, v in answerable if v["answered"]]
    short = [v for v in answered if v["short"]]

    def share(part: int, whole: int) -> float | None:
        return round(part / whole, 4) if whole else None

    return {
        "answer_correct": share(sum(v["right"] for _, v in answerable), len(answerable)),
        "short_answer_rate": share(len(short), len(answered)),
        "short_answer_precision": share(sum(v["right"] for v in short), len(short)),
        "wrong_answer_rate": share(sum(v["answered"] and not v["right"] for _, v in answerable), len(answerable)),
        "false_abstain_rate": share(sum(not v["answered"] for _, v in answerable), len(answerable)),
        "correct_abstain_rate": share(sum(not v["answered"] for _, v in others), len(others)),
        "questions": len(answerable),
        "unanswerable": len(others),
    }


def cross_validated(observed: list[Observed], folds: int = FOLDS, seed: int = 13) -> dict[str, Any]:
    """Each question scored under thresholds fitted without its fold (a question and its hidden twin share one)."""
    ids = sorted({o.qid.removesuffix("-hidden") for o in observed})
    random.Random(seed).shuffle(ids)
    fold_of = {qid: number % folds for number, qid in enumerate(ids)}
    fitted = [
        fit_thresholds([o for o in observed if fold_of[o.qid.removesuffix("-hidden")] != k]) for k in range(folds)
    ]
    chosen = [fitted[fold_of[o.qid.removesuffix("-hidden")]] for o in observed]
    return {"folds": folds, **figures(observed, chosen), "thresholds_per_fold": [asdict(t) for t in fitted]}
