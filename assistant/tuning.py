"""Fit the evidence-ranking weights and the abstention model from question sets (``briefings tune``).

Ranking is fitted listwise: for each answerable question, a softmax over its candidate sentences, maximising
the probability mass on sentences that contain a gold answer (L2-regularised gradient descent; a few
thousand candidates fit in seconds with numpy). Abstention is a logistic regression over the best sentence's
signals, answerable vs unanswerable, with the threshold chosen to refuse as many unanswerable questions as
possible while refusing at most ``max_false_abstain`` of the answerable ones.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from assistant.evaluation import contains_answer, load_question_set
from assistant.scoring import CONFIDENCE_SIGNALS, SIGNALS, ConfidenceModel, Model, Weights, confidence_inputs

L2 = 0.01
STEPS = 1500
LEARNING_RATE = 0.5


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
) -> Example:
    matrix = np.array([[row.get(name, 0.0) for name in SIGNALS] for row in signal_rows], dtype=float).reshape(
        -1, len(SIGNALS)
    )
    labels = np.array([contains_answer(sentence, golds) for sentence in sentences], dtype=float)
    return Example(matrix, labels, answerable, follow_up)


def fit_ranking(examples: list[Example]) -> Weights:
    trainable = [e for e in examples if e.answerable and e.holds_answer.sum() > 0]
    weights = np.zeros(len(SIGNALS))
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
    return Weights({name: round(float(value), 4) for name, value in zip(SIGNALS, weights, strict=True)})


def confidence_features(signals: np.ndarray, weights: Weights, follow_up: bool = False) -> dict[str, float]:
    vector = np.array([weights.values[name] for name in SIGNALS])
    scores = signals @ vector if len(signals) else np.zeros(0)
    order = np.argsort(-scores)
    best = dict(zip(SIGNALS, signals[order[0]], strict=True)) if len(order) else {}
    return confidence_inputs([float(scores[i]) for i in order], {k: float(v) for k, v in best.items()}, follow_up)


def fit_confidence(examples: list[Example], weights: Weights, max_false_abstain: float = 0.15) -> ConfidenceModel:
    rows = [confidence_features(e.signals, weights, e.follow_up) for e in examples]
    features = np.array([[row[name] for name in CONFIDENCE_SIGNALS] for row in rows])
    labels = np.array([e.answerable for e in examples], dtype=float)
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
    return ConfidenceModel(model.values, model.bias, _threshold(model, rows, labels, max_false_abstain))


def _threshold(
    model: ConfidenceModel, rows: list[dict[str, float]], labels: np.ndarray, max_false_abstain: float
) -> float:
    """The highest threshold that keeps false abstention within bounds (refusing the most unanswerables)."""
    probabilities = np.array([model.probability(row) for row in rows])
    answerable = probabilities[labels == 1]
    best = 0.0
    for candidate in np.unique(np.round(probabilities, 4)):
        if answerable.size and (answerable < candidate).mean() <= max_false_abstain:
            best = max(best, float(candidate))
    return round(best, 4)


def fit(examples: list[Example], sources: list[str], max_false_abstain: float = 0.15) -> Model:
    weights = fit_ranking(examples)
    return Model(weights, fit_confidence(examples, weights, max_false_abstain), sources)


def collect(service: Any, paths: list[Path]) -> list[Example]:
    """Run every question of the sets through the answer path's retrieval and ranking, keeping the signals."""
    from assistant.chat import turns_from

    examples = []
    for path in paths:
        for item in load_question_set(path):
            for question, history, golds, answerable in _questions_of(item):
                evidence = service.evidence(question, turns_from(history))
                signals, sentences = [c.signals for c in evidence.ranked], [c.text for c in evidence.ranked]
                examples.append(example_from(signals, sentences, golds, answerable, evidence.follow_up))
    return examples


def _questions_of(item: dict[str, Any]) -> Iterator[tuple[str, list[dict[str, str]], list[str], bool]]:
    """Single questions as they are; conversation turns with the earlier turns (gold answers) as history."""
    if "turns" not in item:
        golds = [str(a) for a in item.get("answers") or []]
        yield str(item["question"]), [], golds, bool(item.get("answerable", bool(golds)))
        return
    history: list[dict[str, str]] = []
    for turn in item["turns"]:
        golds = [str(a) for a in turn.get("answers") or []]
        if golds or turn.get("answerable") is False:
            yield str(turn["user"]), list(history), golds, bool(golds)
        history += [
            {"role": "user", "content": str(turn["user"])},
            {"role": "assistant", "content": golds[0] if golds else ""},
        ]
