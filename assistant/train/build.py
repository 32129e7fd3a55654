"""``briefings train``: the reader rebuilt from scratch, from the shipped encoder to the shipped int8 file.

One seeded run: pairs are generated (:mod:`assistant.train.examples`), a small share is held back, the rest
trains the reader (:mod:`assistant.train.fit`), the int8 export is checked against the trained model on the
held-back share (:mod:`assistant.train.export`), and ``reader.json`` records what a model card needs: the data,
steps, time, machine, and the held-back figures. The abstention thresholds are fitted afterwards by
``briefings tune-reader`` on other questions and written into the same file.
"""

from __future__ import annotations

import json
import logging
import os
import platform
import random
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from assistant.answer.spans import SPACY_MODEL
from assistant.train.examples import (
    Pair,
    Sentence,
    SentencePool,
    generated_pairs,
    load_articles,
    quiz_pairs,
    write_pairs,
)
from assistant.train.fit import MAX_TOKENS, build_net, encode_pairs, fit

log = logging.getLogger(__name__)

MODEL_FILE = "reader-int8.onnx"
META_FILE = "reader.json"
FORMAT = 1
HELD_BACK_SHARE = 0.03


@dataclass(frozen=True)
class TrainPlan:
    """What a run trains on and how long; the defaults are the shipped model's."""

    news_dir: Path
    quiz_path: Path
    out_dir: Path
    work_dir: Path
    seed: int = 13
    articles: int = 450
    per_article: int = 4
    quiz_limit: int | None = None
    epochs: float = 3.0
    batch_size: int = 32
    max_steps: int | None = None
    wh_movement: bool = False  # also ask wh-movement and absent-slot questions (assistant.train.frames)
    erase_answers: bool = True  # answering sentences with the answer taken out as negatives (train.erasure)
    follow_ups: bool = False  # some generated questions in the form a follow-up is read in


def train_reader(plan: TrainPlan, progress: Callable[[int, int, float], None] | None = None) -> dict[str, Any]:
    """Run the whole rebuild and return the metadata written beside the model."""
    import torch
    from transformers import AutoTokenizer

    from assistant.train.export import export_int8
    from index.embedding import resolve_model
    from index.model_cache import file_sha256

    torch.set_num_threads(os.cpu_count() or 1)
    started = time.perf_counter()
    pairs = make_pairs(plan)
    rng = random.Random(plan.seed)
    rng.shuffle(pairs)
    held = max(4, int(len(pairs) * HELD_BACK_SHARE))
    check, train = pairs[:held], pairs[held:]
    write_pairs(pairs, plan.work_dir / "pairs.jsonl")
    encoder_dir = Path(resolve_model(None)[0])  # the packaged all-MiniLM-L6-v2
    tokenizer = AutoTokenizer.from_pretrained(str(encoder_dir))
    net = build_net(encoder_dir)
    result = fit(net, encode_pairs(tokenizer, train), plan.batch_size, plan.epochs, plan.seed, plan.max_steps, progress)
    target = plan.out_dir / MODEL_FILE
    exported = export_int8(net, tokenizer, target, check)
    meta = {
        "format": FORMAT,
        "max_tokens": MAX_TOKENS,
        "encoder": resolve_model(None)[1],
        "sha256": file_sha256(target),
        "thresholds": None,
        "training": {
            "seed": plan.seed,
            "pairs": len(train),
            "positives": sum(p.answers for p in train),
            "sources": dict(sorted(Counter(p.source for p in train).items())),
            "articles": plan.articles,
            "steps": result.steps,
            "batch_size": plan.batch_size,
            "epochs": plan.epochs,
            "wh_movement": plan.wh_movement,
            "erase_answers": plan.erase_answers,
            "follow_ups": plan.follow_ups,
            "final_loss": round(result.final_loss, 4),
            "fit_seconds": round(result.seconds, 1),
            "total_seconds": round(time.perf_counter() - started, 1),
            "machine": f"{platform.machine()}, {os.cpu_count()} CPU cores, torch {torch.__version__}",
            "held_back": {"pairs": exported.pairs, **held_back_figures(net, tokenizer, check)},
            "int8_vs_trained": {
                "answers_logit_correlation": round(exported.logit_correlation, 4),
                "largest_logit_difference": round(exported.largest_logit_difference, 4),
                "same_best_span": round(exported.span_agreement, 4),
            },
        },
    }
    (plan.out_dir / META_FILE).write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    return meta


def make_pairs(plan: TrainPlan) -> list[Pair]:
    """Quiz pairs and generated pairs, reproducibly: one seeded generator drives every choice."""
    import spacy

    rng = random.Random(plan.seed)
    articles = load_articles(plan.news_dir / "articles", plan.articles, rng)
    pool = SentencePool([Sentence(doc, text) for doc, texts in articles.items() for text in texts])
    pairs = list(quiz_pairs(plan.quiz_path, pool, rng, plan.quiz_limit, plan.erase_answers))
    nlp = spacy.load(SPACY_MODEL)
    options = (plan.wh_movement, plan.erase_answers, plan.follow_ups)
    pairs.extend(generated_pairs(articles, pool, nlp, rng, plan.per_article, *options))
    log.info("%d training pairs (%d answer)", len(pairs), sum(p.answers for p in pairs))
    return pairs


def held_back_figures(net: Any, tokenizer: Any, pairs: list[Pair]) -> dict[str, float]:
    """Accuracy of the answers logit at 0 and exact span on positives, over pairs the fit never saw."""
    import torch

    from assistant.train.fit import collate

    right = spans = positives = 0
    for begin in range(0, len(pairs), 32):
        batch = collate(encode_pairs(tokenizer, pairs[begin : begin + 32]))
        with torch.no_grad():
            answers, start, end = net(batch["input_ids"], batch["attention_mask"], batch["token_type_ids"])
        right += int(((answers > 0).float() == batch["label"]).sum())
        for row in range(len(batch["label"])):
            if batch["start"][row] >= 0:
                positives += 1
                spans += int(start[row].argmax() == batch["start"][row] and end[row].argmax() == batch["end"][row])
    return {"answers_accuracy": round(right / len(pairs), 4), "span_exact": round(spans / max(1, positives), 4)}
