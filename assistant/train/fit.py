"""The fit loop: the shipped sentence encoder becomes a cross-encoder reader with two small heads.

The encoder (all-MiniLM-L6-v2, packaged offline) reads "question [SEP] sentence". Its first token's state
feeds an *answers* logit (does this sentence answer the question?), which reranks evidence and decides
abstention; every sentence token's state feeds *start*/*end* logits, which mark the answer span, as extractive
QA readers do. The span loss is taken on positive pairs only, so a negative pair teaches only "no".

Batches are grouped by length (shuffled within a seeded order) to spend the CPU on tokens, not padding; the
heads learn at a higher rate than the pretrained encoder. Progress goes to a log line every few steps and to a
bar, since a full run takes a while on two cores.
"""

from __future__ import annotations

import logging
import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from assistant.train.examples import Pair

log = logging.getLogger(__name__)

MAX_TOKENS = 96
ENCODER_RATE = 8e-5
HEAD_RATE = 1e-3
WARMUP_SHARE = 0.06
SPAN_WEIGHT = 0.5
FROZEN_LAYERS = 0


@dataclass(frozen=True)
class FitResult:
    steps: int
    examples: int
    seconds: float
    final_loss: float


def build_net(encoder_dir: Path) -> Any:
    """The reader network over the encoder in ``encoder_dir`` (heads freshly initialised)."""
    import torch
    from transformers import AutoModel

    class ReaderNet(torch.nn.Module):
        def __init__(self, encoder: Any) -> None:
            super().__init__()
            self.encoder: Any = encoder
            hidden = int(encoder.config.hidden_size)
            self.answers = torch.nn.Linear(hidden, 1)
            self.span = torch.nn.Linear(hidden, 2)

        def forward(self, input_ids, attention_mask, token_type_ids):  # type: ignore[no-untyped-def]
            states = self.encoder(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state
            answer_logit = self.answers(states[:, 0]).squeeze(-1)
            span = self.span(states)
            outside = (token_type_ids == 0) | (attention_mask == 0)
            start = span[..., 0].masked_fill(outside, -1e4)
            end = span[..., 1].masked_fill(outside, -1e4)
            return answer_logit, start, end

    net = ReaderNet(AutoModel.from_pretrained(str(encoder_dir)))
    # The word embeddings (and the lowest FROZEN_LAYERS layers, none by default) stay as shipped: casual words
    # the pairs never show keep their pretrained vectors, and a step skips the largest optimiser update.
    frozen = [net.encoder.embeddings, *net.encoder.encoder.layer[:FROZEN_LAYERS]]
    for part in frozen:
        for parameter in part.parameters():
            parameter.requires_grad = False
    return net


def encode_pairs(tokenizer: Any, pairs: list[Pair]) -> list[dict[str, Any]]:
    """Token ids per pair, with the answer's token positions (-1 when none or cut off by truncation)."""
    encoded = tokenizer(
        [p.question for p in pairs],
        [p.sentence for p in pairs],
        truncation="only_second",
        max_length=MAX_TOKENS,
        return_offsets_mapping=True,
    )
    rows = []
    for number, pair in enumerate(pairs):
        types = encoded["token_type_ids"][number]
        offsets = encoded["offset_mapping"][number]
        start = end = -1
        if pair.answers:
            inside = [i for i, t in enumerate(types) if t == 1 and offsets[i][1] > offsets[i][0]]
            starts = [i for i in inside if offsets[i][0] <= pair.answer_start < offsets[i][1]]
            ends = [i for i in inside if offsets[i][0] < pair.answer_end <= offsets[i][1]]
            if starts and ends and starts[0] <= ends[-1]:
                start, end = starts[0], ends[-1]
        rows.append(
            {
                "input_ids": encoded["input_ids"][number],
                "token_type_ids": types,
                "label": 1.0 if pair.answers else 0.0,
                "start": start,
                "end": end,
            }
        )
    return rows


def batches(rows: list[dict[str, Any]], size: int, rng: random.Random) -> list[list[dict[str, Any]]]:
    """Seeded shuffle, then length-sorted within windows of 50 batches, then the batches shuffled."""
    order = rows[:]
    rng.shuffle(order)
    window = size * 50
    grouped: list[list[dict[str, Any]]] = []
    for begin in range(0, len(order), window):
        part = sorted(order[begin : begin + window], key=lambda row: len(row["input_ids"]))
        grouped.extend(part[i : i + size] for i in range(0, len(part), size))
    rng.shuffle(grouped)
    return grouped


def collate(batch: list[dict[str, Any]]) -> dict[str, Any]:
    import torch

    width = max(len(row["input_ids"]) for row in batch)

    def padded(key: str) -> Any:
        return torch.tensor([row[key] + [0] * (width - len(row[key])) for row in batch])

    return {
        "input_ids": padded("input_ids"),
        "token_type_ids": padded("token_type_ids"),
        "attention_mask": torch.tensor(
            [[1] * len(r["input_ids"]) + [0] * (width - len(r["input_ids"])) for r in batch]
        ),
        "label": torch.tensor([row["label"] for row in batch]),
        "start": torch.tensor([row["start"] for row in batch]),
        "end": torch.tensor([row["end"] for row in batch]),
    }


def fit(
    net: Any,
    rows: list[dict[str, Any]],
    batch_size: int,
    epochs: float,
    seed: int,
    max_steps: int | None = None,
    progress: Callable[[int, int, float], None] | None = None,
) -> FitResult:
    """Train ``net`` in place; ``progress(step, total, loss)`` is called after every step."""
    import torch

    torch.manual_seed(seed)
    rng = random.Random(seed)
    plan: list[list[dict[str, Any]]] = []
    while len(plan) < math.ceil(epochs * math.ceil(len(rows) / batch_size)):
        plan.extend(batches(rows, batch_size, rng))
    total = math.ceil(epochs * math.ceil(len(rows) / batch_size))
    if max_steps is not None:
        total = min(total, max_steps)
    plan = plan[:total]
    trained = [(name, p) for name, p in net.named_parameters() if p.requires_grad]
    heads = [p for name, p in trained if not name.startswith("encoder.")]
    encoder = [p for name, p in trained if name.startswith("encoder.")]
    optimizer = torch.optim.AdamW(
        [{"params": encoder, "lr": ENCODER_RATE}, {"params": heads, "lr": HEAD_RATE}], weight_decay=0.01
    )
    warmup = max(1, int(total * WARMUP_SHARE))
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: min((step + 1) / warmup, max(0.0, (total - step) / max(1, total - warmup)))
    )
    net.train()
    started, smoothed = time.perf_counter(), 0.0
    for step, batch in enumerate(plan, start=1):
        loss = _loss(net, collate(batch))
        loss.backward()
        torch.nn.utils.clip_grad_norm_([p for p in net.parameters() if p.requires_grad], 1.0)
        optimizer.step()
        schedule.step()
        optimizer.zero_grad()
        smoothed = loss.item() if step == 1 else 0.95 * smoothed + 0.05 * loss.item()
        if progress is not None:
            progress(step, total, smoothed)
    net.eval()
    return FitResult(total, sum(len(b) for b in plan), time.perf_counter() - started, smoothed)


def _loss(net: Any, batch: dict[str, Any]) -> Any:
    import torch

    answer_logit, start, end = net(batch["input_ids"], batch["attention_mask"], batch["token_type_ids"])
    loss = torch.nn.functional.binary_cross_entropy_with_logits(answer_logit, batch["label"])
    has_span = batch["start"] >= 0
    if bool(has_span.any()):
        span = torch.nn.functional.cross_entropy(start[has_span], batch["start"][has_span])
        span = span + torch.nn.functional.cross_entropy(end[has_span], batch["end"][has_span])
        loss = loss + SPAN_WEIGHT * span
    return loss
