"""Score the service against a question set: the report keys are the contract in DESIGN.md.

Evaluation is ordinary code over the same :class:`BriefingService` every adapter calls; conversations go
through the same history handling as the UI. A metric over an empty subset is ``None`` (``null``).
"""

from __future__ import annotations

import json
import re
import string
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from assistant.answering import Answer
from assistant.citations import is_verified
from assistant.errors import BriefingsError, CorpusNotFound

RANKS = (1, 5, 10)


@dataclass(frozen=True)
class Probe:
    """One scored question: a single question, or one turn of a conversation with its history."""

    id: str
    question: str
    answers: tuple[str, ...]
    evidence_docs: frozenset[str]
    answerable: bool
    type: str
    history: tuple[dict[str, str], ...] = ()


@dataclass
class Outcome:
    probe: Probe
    answer: Answer
    seconds: float
    scores: dict[str, Any] = field(default_factory=dict)


# ------------------------------------------------------------------------------------ question sets
def load_question_set(path: Path) -> list[dict[str, Any]]:
    """Read a JSONL question set; a bad line is an error that names the line."""
    if not path.is_file():
        raise CorpusNotFound(f"Question set not found: {path}")
    items = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError as error:
            raise BriefingsError(f"{path}:{number}: not valid JSON ({error.msg})") from None
        if not isinstance(item, dict) or not ("question" in item or "turns" in item):
            raise BriefingsError(f"{path}:{number}: needs a 'question' or 'turns' field")
        items.append(item)
    return items


def run_probes(items: list[dict[str, Any]], ask: Callable[[str, list[dict[str, str]]], Answer]) -> Iterator[Outcome]:
    """Ask every question (conversations turn by turn, carrying history) and yield outcomes."""
    for index, item in enumerate(items):
        if "turns" in item:
            yield from _run_conversation(item, index, ask)
            continue
        probe = _probe(item, str(item.get("id", f"q{index + 1}")), item["question"], ())
        yield _timed(probe, ask)


def _run_conversation(
    item: dict[str, Any], index: int, ask: Callable[[str, list[dict[str, str]]], Answer]
) -> Iterator[Outcome]:
    history: list[dict[str, str]] = []
    base = str(item.get("id", f"c{index + 1}"))
    for number, turn in enumerate(item.get("turns", []), start=1):
        question = str(turn.get("user", ""))
        probe = _probe(turn, f"{base}/{number}", question, tuple(history))
        outcome = _timed(probe, ask)
        if "answers" in turn or turn.get("answerable") is False:
            yield outcome
        history += [{"role": "user", "content": question}, {"role": "assistant", "content": outcome.answer.answer}]


def _probe(item: dict[str, Any], probe_id: str, question: str, history: tuple[dict[str, str], ...]) -> Probe:
    answers = tuple(str(answer) for answer in item.get("answers") or ())
    answerable = bool(item.get("answerable", bool(answers)))
    docs = frozenset(str(e["doc"]) for e in item.get("evidence") or () if isinstance(e, dict) and "doc" in e)
    return Probe(probe_id, question, answers, docs, answerable, str(item.get("type", "unknown")), history)


def _timed(probe: Probe, ask: Callable[[str, list[dict[str, str]]], Answer]) -> Outcome:
    started = time.perf_counter()
    answer = ask(probe.question, list(probe.history))
    return Outcome(probe, answer, time.perf_counter() - started)


# ------------------------------------------------------------------------------------- metrics
def normalize(text: str) -> str:
    """SQuAD v1.1: lower-case, drop punctuation and articles, collapse spaces."""
    text = text.lower()
    text = "".join(character for character in text if character not in _PUNCTUATION)
    text = re.sub(r"\b(a|an|the)\b", " ", text)
    return " ".join(text.split())


_PUNCTUATION = set(string.punctuation) | set("‘’“”–—…")


def exact_match(prediction: str, gold: str) -> float:
    return float(normalize(prediction) == normalize(gold))


def f1(prediction: str, gold: str) -> float:
    predicted, expected = normalize(prediction).split(), normalize(gold).split()
    common = Counter(predicted) & Counter(expected)
    same = sum(common.values())
    if same == 0:
        return 0.0
    precision, recall = same / len(predicted), same / len(expected)
    return 2 * precision * recall / (precision + recall)


def answer_in_citation(answer: Answer, golds: tuple[str, ...]) -> bool:
    if answer.abstained:
        return False
    return any(contains_answer(text, golds) for text in [answer.answer, *(c.quote for c in answer.citations)])


def contains_answer(text: str, golds: Iterable[str]) -> bool:
    """A gold answer occurs in ``text`` as whole words, both SQuAD-normalised (also what ``tune`` labels by)."""
    padded = f" {normalize(text)} "
    return any(normalize(gold) and f" {normalize(gold)} " in padded for gold in golds)


def score_outcome(outcome: Outcome, article_text: Callable[[str], str | None]) -> dict[str, Any]:
    probe, answer = outcome.probe, outcome.answer
    docs = [passage.chunk.doc for passage in answer.passages]
    verified = [is_verified(citation, article_text(citation.doc)) for citation in answer.citations]
    scores: dict[str, Any] = {"verified": verified, "abstained": answer.abstained}
    if probe.answerable:
        golds = probe.answers
        scores["em"] = max((exact_match(answer.answer, g) for g in golds), default=0.0) if not answer.abstained else 0.0
        scores["f1"] = max((f1(answer.answer, g) for g in golds), default=0.0) if not answer.abstained else 0.0
        scores["in_citation"] = answer_in_citation(answer, golds)
        if probe.evidence_docs:
            first = next((rank for rank, doc in enumerate(docs, start=1) if doc in probe.evidence_docs), None)
            scores["first_relevant"] = first
            scores["doc_ok"] = bool(answer.citations) and answer.citations[0].doc in probe.evidence_docs
        scores["correct"] = scores["in_citation"]
    else:
        scores["correct"] = answer.abstained
    return scores


def build_report(outcomes: list[Outcome]) -> dict[str, Any]:
    """The report object of DESIGN.md (plus ``by_type`` and per-question detail)."""
    answerable = [o for o in outcomes if o.probe.answerable]
    unanswerable = [o for o in outcomes if not o.probe.answerable]
    with_docs = [o for o in answerable if o.probe.evidence_docs]
    citations = [flag for o in outcomes for flag in o.scores["verified"]]
    latencies = sorted(o.seconds * 1000 for o in outcomes)
    return {
        "questions": len(outcomes),
        "answerable": len(answerable),
        "unanswerable": len(unanswerable),
        "retrieval": {
            **{f"hit@{k}": _mean([_hit(o, k) for o in with_docs]) for k in RANKS},
            "mrr@10": _mean([_reciprocal_rank(o) for o in with_docs]),
        },
        "answer": {
            "exact_match": _mean([o.scores["em"] for o in answerable]),
            "f1": _mean([o.scores["f1"] for o in answerable]),
            "answer_in_citation": _mean([float(o.scores["in_citation"]) for o in answerable]),
        },
        "citations": {
            "doc_accuracy": _mean([float(o.scores["doc_ok"]) for o in with_docs]),
            "quote_verified": _mean([float(flag) for flag in citations]),
        },
        "abstention": {
            "correct_abstain_rate": _mean([float(o.answer.abstained) for o in unanswerable]),
            "false_abstain_rate": _mean([float(o.answer.abstained) for o in answerable]),
        },
        "latency_ms": {"p50": _percentile(latencies, 50), "p95": _percentile(latencies, 95)},
        "by_type": _by_type(outcomes),
        "per_question": [_row(o) for o in outcomes],
    }


def _hit(outcome: Outcome, k: int) -> float:
    first = outcome.scores.get("first_relevant")
    return float(first is not None and first <= k)


def _reciprocal_rank(outcome: Outcome) -> float:
    first = outcome.scores.get("first_relevant")
    return 1.0 / first if first is not None and first <= 10 else 0.0


def _by_type(outcomes: list[Outcome]) -> dict[str, dict[str, Any]]:
    groups: dict[str, list[Outcome]] = {}
    for outcome in outcomes:
        groups.setdefault(outcome.probe.type, []).append(outcome)
    return {
        name: {"questions": len(group), "correct": _mean([float(o.scores["correct"]) for o in group])}
        for name, group in sorted(groups.items())
    }


def _row(outcome: Outcome) -> dict[str, Any]:
    return {
        "id": outcome.probe.id,
        "question": outcome.probe.question,
        "type": outcome.probe.type,
        "gold": list(outcome.probe.answers),
        "answer": outcome.answer.answer,
        "correct": bool(outcome.scores["correct"]),
        "abstained": outcome.answer.abstained,
        "confidence": round(outcome.answer.confidence, 4),
        "cited_docs": [citation.doc for citation in outcome.answer.citations],
        "latency_ms": round(outcome.seconds * 1000, 1),
    }


def _mean(values: list[float]) -> float | None:
    return round(sum(values) / len(values), 4) if values else None


def _percentile(ordered: list[float], percent: float) -> float | None:
    if not ordered:
        return None
    index = min(len(ordered) - 1, max(0, round(percent / 100 * (len(ordered) - 1))))
    return round(ordered[index], 1)


def evaluate(service: Any, questions: Path, show_progress: bool = False) -> dict[str, Any]:
    """Run a question set through ``service`` (warm) and build the report."""
    items = load_question_set(questions)
    service.warm_up()
    bar = None
    if show_progress:
        from tqdm import tqdm

        bar = tqdm(total=sum(len(i.get("turns", [])) or 1 for i in items), desc="Evaluating", unit="q", file=sys.stderr)
    outcomes = []
    for outcome in run_probes(items, lambda question, history: service.ask(question, history=history)):
        outcome.scores = score_outcome(outcome, service.articles.text)
        outcomes.append(outcome)
        if bar is not None:
            bar.update(1)
    if bar is not None:
        bar.close()
    report = build_report(outcomes)
    guard = llm_report(outcomes)
    if guard is not None:
        report["llm"] = guard
    return report


# ------------------------------------------------------------------------------------ LLM mode
def llm_report(outcomes: list[Outcome]) -> dict[str, Any] | None:
    """What LLM mode did: how often it fell back, and the share of generated sentences the guard dropped.

    ``None`` when every answer was extractive, so extractive reports keep exactly their keys. ``drop_rate``
    counts sentences (kept sentences of guarded answers plus every dropped one, fallbacks included).
    """
    answers = [o.answer for o in outcomes if o.answer.mode != "extractive"]
    if not answers:
        return None
    from assistant.faithfulness import split_claims  # the guard's own sentence split, so counts agree

    guarded = [a for a in answers if a.mode.startswith("llm:")]
    dropped = sum(len(a.unsupported) for a in answers)
    kept = sum(len(split_claims(a.answer)) for a in guarded)
    reasons = Counter(a.mode.split("llm fallback:", 1)[1].strip(" )") for a in answers if "llm fallback:" in a.mode)
    return {
        "answers": len(answers),
        "guarded": len(guarded),
        "abstained": sum(a.abstained for a in guarded),
        "skipped_no_evidence": sum("llm skipped" in a.mode for a in answers),
        "guard_kept_sentences": kept,
        "guard_dropped_sentences": dropped,
        "drop_rate": round(dropped / (kept + dropped), 4) if kept + dropped else None,
        "fallbacks": sum(reasons.values()),
        "fallback_reasons": dict(sorted(reasons.items())),
    }


def format_metric(value: object) -> str:
    """How reports print a figure: three decimals, "n/a" for a metric over an empty subset."""
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)
