"""Fit the evidence-ranking weights and the abstention model from question sets (``briefings tune``).

Ranking is fitted listwise: for each answerable question, a softmax over its candidate sentences, maximising
the probability mass on sentences that contain a gold answer (L2-regularised gradient descent; a few
thousand candidates fit in seconds with numpy). Abstention is a logistic regression for "the answer a
reader would see is right", over what the answer path shows under those weights, on the sets' questions and
on the same questions with their evidence articles hidden (near misses the corpus cannot answer). Its
threshold is the one that helps a reader most on the same data (see :func:`_threshold`).

The shipped ``assistant/answer/model.json`` is made by ``make calibrate`` from the public news development set
only, so the figures reported on the project's own question sets are measured on questions it never saw.

Owns: fitting the ranking weights and the abstention model from question sets, through the service's
``evidence`` and ``decide`` steps, into a :class:`~assistant.answer.confidence.Model`.

Must not: write the model anywhere (the CLI decides where it goes), change how answers are ranked or refused
(it fits numbers for the answer step's own formulas), or be run on the project's own question sets for the
shipped model, whose figures would then no longer be measured on unseen questions.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from assistant.answer.confidence import CONFIDENCE_SIGNALS, RERANK_SIGNALS, SIGNALS, ConfidenceModel, Model, Weights
from assistant.measure.evaluation import contains_answer
from assistant.measure.questions import evidence_docs, load_question_set

L2 = 0.01
STEPS = 1500
LEARNING_RATE = 0.5
NEVER_ABSTAIN = -1.0
GAIN_TOLERANCE = 0.01  # gains this close count as equal (one question in a hundred)
HIDDEN_ANSWER_DEPTH = 10  # candidates searched for the gold answer once a question's evidence is hidden


@dataclass(frozen=True)
class Example:
    """One question's candidates as a signal matrix, which of them hold a gold answer, and if it is answerable."""

    signals: np.ndarray  # candidates x len(SIGNALS)
    holds_answer: np.ndarray  # candidates, 0/1
    answerable: bool
    follow_up: bool = False


def example_from(
    signal_rows: list[dict[str, float]],
    sentences: list[str],
    golds: list[str],
    answerable: bool,
    follow_up: bool = False,
    names: tuple[str, ...] = SIGNALS,
) -> Example:
    matrix = np.array([[row.get(name, 0.0) for name in names] for row in signal_rows], dtype=float).reshape(
        -1, len(names)
    )
    labels = np.array([contains_answer(sentence, golds) for sentence in sentences], dtype=float)
    return Example(matrix, labels, answerable, follow_up)


def fit_ranking(examples: list[Example], names: tuple[str, ...] = SIGNALS) -> Weights:
    """Weights of ``names`` (the columns of the examples' signal matrices), fitted listwise."""
    trainable = [e for e in examples if e.answerable and e.holds_answer.sum() > 0]
    weights = np.zeros(len(names))
    for _ in range(STEPS):
        gradient = np.zeros_like(weights)
        for example in trainable:
            scores = example.signals @ weights
            probabilities = np.exp(scores - scores.max())
            probabilities /= probabilities.sum()
            target = probabilities * example.holds_answer
            target /= target.sum()
            gradient += example.signals.T @ (probabilities - target)
        weights -= LEARNING_RATE * (gradient / max(len(trainable), 1) + L2 * weights)
    return Weights({name: round(float(value), 4) for name, value in zip(names, weights, strict=True)})


@dataclass(frozen=True)
class Decision:
    """What the answer path would show for one question, and whether a reader would be right to trust it."""

    features: dict[str, float]  # the abstention model's inputs (see scoring.confidence_inputs)
    correct: bool  # the displayed answer holds a gold answer
    answerable: bool  # false for unanswerable questions and for questions whose evidence was hidden


def fit_confidence(decisions: list[Decision]) -> ConfidenceModel:
    """Logistic regression for P(the displayed answer is right), classes balanced, then the threshold."""
    features = np.array([[d.features[name] for name in CONFIDENCE_SIGNALS] for d in decisions])
    labels = np.array([d.correct for d in decisions], dtype=float)
    mean, spread = features.mean(axis=0), features.std(axis=0) + 1e-9
    scaled = (features - mean) / spread
    coefficients, bias = np.zeros(len(CONFIDENCE_SIGNALS)), 0.0
    balance = np.where(labels == 1, 0.5 / max(labels.mean(), 1e-9), 0.5 / max(1 - labels.mean(), 1e-9))
    for _ in range(4000):
        probability = 1 / (1 + np.exp(-(scaled @ coefficients + bias)))
        error = (probability - labels) * balance
        coefficients -= 0.1 * (scaled.T @ error / len(labels) + L2 * coefficients)
        bias -= 0.1 * error.mean()
    values = coefficients / spread
    model = ConfidenceModel(
        {n: round(float(v), 4) for n, v in zip(CONFIDENCE_SIGNALS, values, strict=True)},
        round(float(bias - (coefficients * mean / spread).sum()), 4),
        0.5,
    )
    return ConfidenceModel(model.values, model.bias, _threshold(model, decisions))


def _threshold(model: ConfidenceModel, decisions: list[Decision]) -> float:
    """The lowest threshold at which a reader gains most on answerable questions: answer_correct minus
    wrong_answer_rate.

    Refusing then costs a right answer as much as showing a wrong one costs, so the threshold rises only while
    it removes more wrong answers than right ones; among equal gains the lowest wins, keeping right answers.
    Questions the corpus cannot answer are refused along the way, without being traded against right answers.
    """
    probabilities = np.array([model.probability(d.features) for d in decisions])
    answerable = np.array([d.answerable for d in decisions])
    correct = np.array([d.correct for d in decisions])
    if not answerable.any():
        return 0.5
    gains = []
    for candidate in np.unique(np.round(probabilities, 4)):
        answered = (probabilities >= candidate)[answerable]
        right = correct[answerable]
        gains.append((float((answered & right).mean() - (answered & ~right).mean()), float(candidate)))
    best_gain = max(gain for gain, _ in gains)
    return round(min(candidate for gain, candidate in gains if gain >= best_gain - GAIN_TOLERANCE), 4)


def fit(service: Any, paths: list[Path], sources: list[str], hide_evidence: bool = True) -> Model:
    """Ranking weights from the sets' answerable questions, then abstention from what that ranking shows.

    With ``hide_evidence``, every answerable question is asked a second time with its evidence articles left
    out of retrieval: the corpus then (most likely) cannot answer it, which gives the abstention model
    realistic near misses instead of only the few written unanswerable questions. With the reader reranking
    (the ``reader_rerank`` setting), the weights of the ranking that adds its logit are fitted too, on the
    same questions; abstention stays fitted on the rules' own answers, since the rules decide whether to answer.
    """
    reading = service.settings.reader_rerank and service.settings.answerer == "rules"
    collected = collect(service, paths, reading)
    weights = fit_ranking([example_from(*row) for row in collected])
    reranking = None
    if reading:
        reranking = fit_ranking([example_from(*row, names=RERANK_SIGNALS) for row in collected], RERANK_SIGNALS)
    decisions = collect_decisions(service, paths, weights, hide_evidence)
    return Model(weights, fit_confidence(decisions), sources, reranking)


Collected = tuple[list[dict[str, float]], list[str], list[str], bool, bool]  # example_from's arguments


def collect(service: Any, paths: list[Path], reading: bool = False) -> list[Collected]:
    """Run every question of the sets through the answer path's retrieval and ranking, keeping the signals
    (with ``reading``, the reader's logit among them)."""
    from assistant.answer.conversation import turns_from

    rows: list[Collected] = []
    for path in paths:
        for question, history, golds, answerable, _ in _questions(paths=[path]):
            evidence = service.evidence(question, turns_from(history))
            if reading:
                service.read_evidence(evidence)
            signals, sentences = [c.signals for c in evidence.ranked], [c.text for c in evidence.ranked]
            rows.append((signals, sentences, golds, answerable, evidence.follow_up))
    return rows


def collect_decisions(service: Any, paths: list[Path], weights: Weights, hide_evidence: bool) -> list[Decision]:
    """What the rules show for each question under ``weights`` (never abstaining, not reranked by the reader:
    their abstention judges their own answer), and if it is right."""
    from assistant.answer.conversation import turns_from

    decisions = []
    for question, history, golds, answerable, sources in _questions(paths):
        asked = [(frozenset[str](), answerable)]
        if hide_evidence and answerable and sources and not history:
            asked.append((sources, False))
        for hidden, still_answerable in asked:
            evidence = service.evidence(question, turns_from(history), exclude=hidden)
            for candidate in evidence.ranked:
                candidate.score = weights.score(candidate.signals)
            ranked = sorted(evidence.ranked, key=lambda c: c.score, reverse=True)
            if hidden and any(contains_answer(c.text, golds) for c in ranked[:HIDDEN_ANSWER_DEPTH]):
                continue  # another article holds the answer too: not a question the corpus cannot answer
            shown = service.decide(question, evidence, ranked, abstain_below=NEVER_ABSTAIN, rerank=False)
            if not shown.features:
                continue  # refused before the abstention model is asked (no article names the question's names)
            correct = still_answerable and contains_answer(shown.text, golds)
            decisions.append(Decision(shown.features, correct, still_answerable))
    return decisions


def _questions(paths: list[Path]) -> Iterator[tuple[str, list[dict[str, str]], list[str], bool, frozenset[str]]]:
    for path in paths:
        for item in load_question_set(path):
            yield from _questions_of(item)


def _questions_of(
    item: dict[str, Any],
) -> Iterator[tuple[str, list[dict[str, str]], list[str], bool, frozenset[str]]]:
    """Single questions as they are; conversation turns with the earlier turns (gold answers) as history."""
    if "turns" not in item:
        golds = [str(a) for a in item.get("answers") or []]
        yield str(item["question"]), [], golds, bool(item.get("answerable", bool(golds))), evidence_docs(item)
        return
    history: list[dict[str, str]] = []
    for turn in item["turns"]:
        golds = [str(a) for a in turn.get("answers") or []]
        if golds or turn.get("answerable") is False:
            yield str(turn["user"]), list(history), golds, bool(golds), frozenset()
        history += [
            {"role": "user", "content": str(turn["user"])},
            {"role": "assistant", "content": golds[0] if golds else ""},
        ]
