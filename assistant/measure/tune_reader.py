"""Fit how the reader's reads become a decision (``briefings tune-reader``), and report it cross-validated.

Four numbers, in this order, from what the real answer path reads for each question of a development set,
plus the same questions with their evidence articles hidden ("topic present, answer absent": the corpus no
longer holds the answer), so the refusals it learns are the hard kind:

* **weight** of the reader's logit added to the evidence ranking's score: the one whose best read most often
  holds the answer (a small grid; ties go to the smaller weight);
* **abstention**: a logistic regression for "the best read holds the answer" over its combined score, its
  logit and its lead over the runner-up (twins included: they show what "answer absent" looks like), and
  the threshold on it that helps a reader most on the questions as asked — a right answer +1, a wrong one
  shown −1 (an answer to what the corpus cannot answer included), a refusal 0. Neither refusals nor twins
  count in that choice: rewarding refusals, with a twin beside most questions, taught the reader to refuse
  half of what it could answer;
* **span threshold**: the lowest span confidence at which short answers are right at least
  :data:`SPAN_PRECISION` of the time (never short, if none reaches it).

Figures on the fitting set itself would flatter, so :func:`cross_validated` fits on k−1 folds and scores the
k-th. Owns observing and fitting; must not change how answers are read or write any file.
"""

from __future__ import annotations

import random
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from assistant.answer.reader import MODEL_DIR, write_thresholds
from assistant.answer.reading import Read, Thresholds, read_candidates, short_span, shortlist
from assistant.measure.evaluation import contains_answer
from assistant.measure.questions import evidence_docs, load_question_set
from assistant.text.casual import terse

SPAN_PRECISION = 0.9
MIN_SHORT_ANSWERS = 5
HIDDEN_ANSWER_DEPTH = 10
FOLDS = 5
CASUAL_SEED = 13  # how the casual copies drop function words, fixed so a refit sees the same copies
WEIGHTS = (0.0, 0.25, 0.5, 1.0, 2.0, 4.0)
TWIN_SUFFIX = "-hidden"
CASUAL_SUFFIX = "-casual"
ANY_SPAN = Thresholds(answer=0.0, span=0.0)  # to see every span the answer step could show, however unsure
STEPS, RATE, L2 = 2000, 0.1, 0.01


@dataclass(frozen=True)
class Seen:
    """One read candidate: its ranking score and logit, and whether its sentence and its span hold a gold."""

    ranking: float
    logit: float
    holds: bool
    span_probability: float
    span_right: bool
    span_usable: bool


@dataclass(frozen=True)
class Observed:
    """What the reader read for one question (never abstaining)."""

    qid: str
    answerable: bool
    seen: tuple[Seen, ...]

    @property
    def twin(self) -> bool:
        """A question asked again with its evidence articles hidden (made here, not asked by anyone)."""
        return self.qid.endswith(TWIN_SUFFIX)


def observe(service: Any, paths: list[Path], hide_evidence: bool = True, casual: bool = False) -> list[Observed]:
    """One observation per question, and one more per answerable question with its evidence hidden; with
    ``casual``, all of that again for the question typed casually (lower case, fewer function words), so the
    decision also sees the lower logits of the way people type."""
    rng = random.Random(CASUAL_SEED)
    found: list[Observed] = []
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
            forms = [(str(item["id"]), str(item["question"]))]
            if casual:
                forms.append((str(item["id"]) + CASUAL_SUFFIX, terse(str(item["question"]), rng)))
            for qid, question in forms:
                for hidden, still in asked:
                    one = _observe_one(service, qid, question, golds, hidden, still)
                    if one is not None:
                        found.append(one)
    return found


def asked_id(qid: str) -> str:
    """The question an observation comes from, whatever form it was asked in: its cross-validation group."""
    return qid.removesuffix(TWIN_SUFFIX).removesuffix(CASUAL_SUFFIX)


def is_casual(qid: str) -> bool:
    """Whether the observation asked the question's casual copy (hidden-evidence twin or not)."""
    return qid.removesuffix(TWIN_SUFFIX).endswith(CASUAL_SUFFIX)


def _observe_one(
    service: Any, qid: str, question: str, golds: list[str], hidden: frozenset[str], answerable: bool
) -> Observed | None:
    evidence = service.evidence(question, [], exclude=hidden)
    if hidden and any(contains_answer(c.text, golds) for c in evidence.ranked[:HIDDEN_ANSWER_DEPTH]):
        return None  # another article holds the answer too: not a question the corpus cannot answer
    candidates = shortlist(evidence.ranked, service.settings.reader_sentences)
    reads = read_candidates(service.reader, evidence.reading, candidates, evidence.said, 0.0)
    qid = qid + (TWIN_SUFFIX if hidden else "")
    return Observed(qid, answerable, tuple(_seen(r, golds, answerable) for r in reads))


def _seen(read: Read, golds: list[str], answerable: bool) -> Seen:
    span = short_span(read, ANY_SPAN) or ""
    return Seen(
        read.candidate.score,
        read.logit,
        answerable and contains_answer(read.candidate.text, golds),
        read.reading.span_probability,
        answerable and bool(span) and contains_answer(span, golds),
        bool(span),
    )


__all__ = ["MODEL_DIR", "cross_validated", "fit_thresholds", "observe", "record"]


def record(folder: Path, fitted: dict[str, Any]) -> None:
    """Write the fitted decision into the reader's ``reader.json`` (the CLI names the folder)."""
    write_thresholds(folder, fitted)


def ordered(o: Observed, weight: float) -> list[Seen]:
    return sorted(o.seen, key=lambda s: s.ranking + weight * s.logit, reverse=True)


def features(o: Observed, weight: float) -> list[float]:
    """Combined score, logit and lead of the best read: what :meth:`Thresholds.confidence` weighs."""
    reads = ordered(o, weight)
    if not reads:
        return [0.0, -10.0, 0.0]
    scores = [s.ranking + weight * s.logit for s in reads]
    return [scores[0], reads[0].logit, scores[0] - scores[1] if len(scores) > 1 else 0.0]


def fit_thresholds(observed: list[Observed]) -> Thresholds:
    answerable = [o for o in observed if o.answerable and o.seen]
    weight = max(WEIGHTS, key=lambda w: (sum(ordered(o, w)[0].holds for o in answerable), -w))
    matrix = np.array([features(o, weight) for o in observed])
    labels = np.array([float(o.answerable and bool(o.seen) and ordered(o, weight)[0].holds) for o in observed])
    coefficients, bias = _logistic(matrix, labels)
    probabilities = 1.0 / (1.0 + np.exp(-(matrix @ coefficients + bias)))
    answer = _answer_threshold(observed, probabilities.tolist(), weight)
    span = _span_threshold([ordered(o, weight)[0] for o in answerable])
    return Thresholds(answer, span, weight, tuple(round(float(c), 4) for c in coefficients), round(float(bias), 4))  # type: ignore[arg-type]


def _logistic(matrix: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, float]:
    """L2-regularised logistic regression by gradient descent, on standardised columns, returned unscaled."""
    mean, spread = matrix.mean(axis=0), matrix.std(axis=0) + 1e-9
    scaled = (matrix - mean) / spread
    weights, bias = np.zeros(matrix.shape[1]), 0.0
    for _ in range(STEPS):
        predicted = 1.0 / (1.0 + np.exp(-(scaled @ weights + bias)))
        error = predicted - labels
        weights -= RATE * (scaled.T @ error / len(labels) + L2 * weights)
        bias -= RATE * float(error.mean())
    return weights / spread, float(bias - (weights / spread) @ mean)


def _answer_threshold(observed: list[Observed], probabilities: list[float], weight: float) -> float:
    right = [bool(o.seen) and ordered(o, weight)[0].holds for o in observed]  # once, not once per threshold
    best, best_gain = 0.5, float("-inf")
    for threshold in sorted({round(p, 4) for p in probabilities} | {0.5}):
        gain = 0.0
        for o, p, holds in zip(observed, probabilities, right, strict=True):
            if p < threshold or o.twin:  # a refusal neither gains nor costs; twins shaped the logistic only
                continue
            gain += 1.0 if o.answerable and holds else -1.0
        if gain > best_gain:
            best, best_gain = threshold, gain
    return best


def _span_threshold(best_reads: list[Seen]) -> float:
    usable = sorted((s for s in best_reads if s.span_usable), key=lambda s: s.span_probability)
    for begin, s in enumerate(usable):
        above = usable[begin:]
        if len(above) >= MIN_SHORT_ANSWERS and sum(x.span_right for x in above) / len(above) >= SPAN_PRECISION:
            return round(s.span_probability, 4)
    return 1.01  # no confidence gives precise enough short answers: always show the sentence


def shown(o: Observed, fitted: Thresholds) -> dict[str, bool]:
    """How a reader would see ``o`` under ``fitted``."""
    reads = ordered(o, fitted.weight)
    answered = bool(reads) and fitted.probability(*features(o, fitted.weight)) >= fitted.answer
    best = reads[0] if reads else None
    short = answered and best is not None and best.span_usable and best.span_probability >= fitted.span
    right = answered and best is not None and o.answerable and (best.span_right if short else best.holds)
    return {"answered": answered, "short": short, "right": right}


def figures(observed: list[Observed], fitted: list[Thresholds]) -> dict[str, float | None]:
    """answer_correct, short-answer rate and precision, wrong rate and both refusal rates."""
    views = [(o, shown(o, t)) for o, t in zip(observed, fitted, strict=True)]
    answerable = [v for o, v in views if o.answerable]
    others = [v for o, v in views if not o.answerable]
    answered = [v for v in answerable if v["answered"]]
    short = [v for v in answered if v["short"]]

    def share(part: int, whole: int) -> float | None:
        return round(part / whole, 4) if whole else None

    return {
        "answer_correct": share(sum(v["right"] for v in answerable), len(answerable)),
        "short_answer_rate": share(len(short), len(answered)),
        "short_answer_precision": share(sum(v["right"] for v in short), len(short)),
        "wrong_answer_rate": share(sum(v["answered"] and not v["right"] for v in answerable), len(answerable)),
        "false_abstain_rate": share(sum(not v["answered"] for v in answerable), len(answerable)),
        "correct_abstain_rate": share(sum(not v["answered"] for v in others), len(others)),
        "questions": len(answerable),
        "unanswerable": len(others),
    }


def cross_validated(observed: list[Observed], folds: int = FOLDS, seed: int = 13) -> dict[str, Any]:
    """Each question scored under a fit made without its fold (a question, its casual form and their hidden
    twins share one)."""
    ids = sorted({asked_id(o.qid) for o in observed})
    random.Random(seed).shuffle(ids)
    fold_of = {qid: number % folds for number, qid in enumerate(ids)}
    fitted = [fit_thresholds([o for o in observed if fold_of[asked_id(o.qid)] != k]) for k in range(folds)]
    chosen = [fitted[fold_of[asked_id(o.qid)]] for o in observed]
    casual = [is_casual(o.qid) for o in observed]
    by_form = {}
    if any(casual):  # casual copies were observed: each form's figures on its own too
        for form, wanted in (("written", False), ("casual", True)):
            part = [(o, t) for o, t, c in zip(observed, chosen, casual, strict=True) if c == wanted]
            by_form[form] = figures([o for o, _ in part], [t for _, t in part])
    return {"folds": folds, **figures(observed, chosen), **by_form, "fits_per_fold": [asdict(t) for t in fitted]}
