"""The fitted numbers behind evidence ranking and abstention, kept in one place with how they were found.

Sentence ranking is a linear model over the signals in :mod:`assistant.answer.evidence`, fitted listwise (softmax
over each question's candidate sentences, maximising the probability of a sentence that holds the gold
answer) by ``briefings tune``. Abstention is a logistic model over the best sentence's signals, fitted on
answerable vs unanswerable questions; its probability is the answer's ``confidence``. Both are fitted on the
public news development questions only (``make calibrate``), so the seed question sets stay held out (see
docs/quality.md).

It owns the fitted numbers and reading them from ``model.json`` (or the file ``briefings tune`` wrote); it
must not retrieve, rank or read anything else. Fitting them is :mod:`assistant.measure.tune`'s job.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

SIGNALS = (
    "lexical",
    "context",
    "typed",
    "named",
    "prior",
    "heading",
    "dense",
    "bm25",
    "fused",
    "lead",
    "recent",
    "semantic",
)
RERANK_SIGNALS = (*SIGNALS, "reader")  # the ranking signals plus the reader model's logit for the sentence
CONFIDENCE_SIGNALS = ("score", "lexical", "margin", "short", "follow_up")


@dataclass(frozen=True)
class Weights:
    """Weights of the sentence-ranking model."""

    values: dict[str, float]

    def score(self, signals: dict[str, float]) -> float:
        return sum(self.values.get(name, 0.0) * value for name, value in signals.items())


@dataclass(frozen=True)
class ConfidenceModel:
    """P(the best sentence really answers) from its signals; below ``threshold`` the answer abstains."""

    values: dict[str, float]
    bias: float
    threshold: float

    def probability(self, features: dict[str, float]) -> float:
        logit = self.bias + sum(self.values.get(name, 0.0) * value for name, value in features.items())
        return 1.0 / (1.0 + math.exp(-max(min(logit, 40.0), -40.0)))


@dataclass(frozen=True)
class Model:
    """Everything fitted: ranking weights, the abstention model, and the weights of the ranking that adds the
    reader's logit (``None`` in a model fitted without the reader: the rules' ranking is then all there is)."""

    weights: Weights
    confidence: ConfidenceModel
    fitted_on: list[str] = field(default_factory=list)
    reranking: Weights | None = None

    def to_json(self) -> str:
        return json.dumps(
            {
                "weights": self.weights.values,
                **({"reranking": self.reranking.values} if self.reranking is not None else {}),
                "confidence": {
                    "values": self.confidence.values,
                    "bias": self.confidence.bias,
                    "threshold": self.confidence.threshold,
                },
                "fitted_on": self.fitted_on,
            },
            indent=2,
        )

    @classmethod
    def from_json(cls, text: str) -> Model:
        data = json.loads(text)
        confidence = data["confidence"]
        return cls(
            Weights({k: float(v) for k, v in data["weights"].items()}),
            ConfidenceModel(
                {k: float(v) for k, v in confidence["values"].items()},
                float(confidence["bias"]),
                float(confidence["threshold"]),
            ),
            list(data.get("fitted_on", [])),
            Weights({k: float(v) for k, v in data["reranking"].items()}) if "reranking" in data else None,
        )


def confidence_inputs(
    scores: list[float],
    best_signals: dict[str, float],
    follow_up: bool = False,
    short: bool = False,
) -> dict[str, float]:
    """What the abstention model sees: the best sentence's score and signals, its lead over the next, and
    whether the answer would be a short span (a span can be wrong where its whole sentence is right),.

    ``scores`` are the ranked candidates' scores, best first. A follow-up shares fewer words with its
    answer than a standalone question (it says "it"), so the model is told which kind it is judging.
    """
    return {
        "score": scores[0] if scores else 0.0,
        "lexical": best_signals.get("lexical", 0.0),
        "context": best_signals.get("context", 0.0),
        "dense": best_signals.get("dense", 0.0),
        "semantic": best_signals.get("semantic", 0.0),
        "margin": scores[0] - scores[1] if len(scores) > 1 else 1.0,
        "follow_up": 1.0 if follow_up else 0.0,
        "short": 1.0 if short else 0.0,
    }


DEFAULT_MODEL_PATH = Path(__file__).with_name("model.json")


def load_model(path: Path | None = None) -> Model:
    """The shipped model (``assistant/answer/model.json``) or one written by ``briefings tune --out``."""
    return Model.from_json((path or DEFAULT_MODEL_PATH).read_text())
