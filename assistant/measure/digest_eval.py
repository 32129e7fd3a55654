"""Score digests against a digest set (DESIGN.md, "Digest set"), beside the lead baseline on the same windows.

Report key ``digest`` (the contract): ``fact_recall@10`` and ``@20`` (a fact is recalled when one of its strings
occurs, normalised as answers are, as whole words, in one item's text of the digest asked for with that
limit), ``redundancy`` (share of item pairs of the 20-item digests that say the same thing: their texts share
half their words by token F1, or their embeddings are within ``SAME_THING_COSINE``), ``window_precision``
(citations dated inside the window asked for), ``quote_verified`` (each quote against the article as read
from its own file, never the index's copy) and ``latency_ms`` (the default 10-item digest, warm). ``lead``
holds the same recall figures for the classic lead baseline; ``by_kind`` splits everything by the set's id
prefix (``week``, ``month``, ``topic``), since the issue's targets differ between them.

Must not tune anything: it measures the digests the service builds with its shipped constants.
"""

from __future__ import annotations

import json
import sys
import time
from collections import defaultdict
from itertools import combinations
from pathlib import Path
from typing import Any

import numpy as np

from assistant.digest.build import DigestRequest
from assistant.digest.model import Digest
from assistant.errors import BriefingsError, CorpusNotFound
from assistant.measure.evaluation import SourceTexts, contains_answer, f1
from assistant.measure.stats import percentiles

LIMITS = (10, 20)
SAME_THING_COSINE = 0.9  # fresh (not context-pooled) sentence embeddings this close restate one fact
SAME_THING_F1 = 0.5


def load_digest_set(path: Path) -> list[dict[str, Any]]:
    """The digest set's lines; a line without ``digest`` and ``facts`` is an error naming the line."""
    if not path.is_file():
        raise CorpusNotFound(f"Digest set not found: {path}")
    items = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError as error:
            raise BriefingsError(f"{path}:{number}: not valid JSON ({error.msg})") from None
        if not isinstance(item, dict) or not isinstance(item.get("digest"), dict) or "facts" not in item:
            raise BriefingsError(f"{path}:{number}: a digest set line needs 'digest' and 'facts'")
        items.append(item)
    return items


def is_digest_set(path: Path) -> bool:
    """Whether ``path`` holds digests (its first line has a ``digest`` object) rather than questions."""
    try:
        with path.open(encoding="utf-8") as handle:
            first = next((line for line in handle if line.strip()), "")
        return isinstance(json.loads(first).get("digest"), dict) if first else False
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, AttributeError):
        return False


def evaluate_digests(service: Any, path: Path, show_progress: bool = False) -> dict[str, Any]:
    """Every digest of the set at 10 and 20 items, and the lead baseline's, scored (see the module doc)."""
    items = load_digest_set(path)
    service.warm_up()
    service.digest(DigestRequest())  # the first digest pays for imports and caches, not the figures
    records = service.store.article_records().items()
    sources = SourceTexts({doc: (record.source, record.parent) for doc, record in records})
    rows = []
    for number, item in enumerate(items, start=1):
        rows.append(_score_item(service, item, sources))
        if show_progress:
            print(f"\rDigests: {number}/{len(items)}", end="", file=sys.stderr, flush=True)
    if show_progress:
        print(file=sys.stderr)
    kinds: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        kinds[row["kind"]].append(row)
    return {
        "digests": len(rows),
        "digest": _summary(rows),
        "lead": _lead_summary(rows),
        "by_kind": {
            kind: {"digests": len(group), **_summary(group), "lead": _lead_summary(group)}
            for kind, group in kinds.items()
        },
        "per_digest": rows,
    }


def _score_item(service: Any, item: dict[str, Any], sources: SourceTexts) -> dict[str, Any]:
    asked = item["digest"]
    facts = [[str(text) for text in fact] for fact in item["facts"]]
    request = DigestRequest(str(asked.get("topic") or ""), asked.get("since"), asked.get("until"))
    row: dict[str, Any] = {
        "id": str(item.get("id", "")),
        "kind": str(item.get("id", "")).split("-")[0],
        "facts": len(facts),
    }
    for limit in LIMITS:
        started = time.perf_counter()
        digest = service.digest(DigestRequest(request.topic, request.since, request.until, limit))
        row[f"seconds@{limit}"] = time.perf_counter() - started
        row[f"recall@{limit}"] = _recall(digest, facts)
        row[f"lead_recall@{limit}"] = _recall(
            service.digest(DigestRequest(request.topic, request.since, request.until, limit), lead=True), facts
        )
    row.update(_checks(service, digest, sources))
    row["briefings_in_window"] = digest.briefings_in_window
    row["days"] = len(digest.days())
    return row


def _recall(digest: Digest, facts: list[list[str]]) -> float | None:
    if not facts:
        return None
    texts = [item.text for item in digest.items]
    return sum(any(contains_answer(text, fact) for text in texts) for fact in facts) / len(facts)


def _checks(service: Any, digest: Digest, sources: SourceTexts) -> dict[str, Any]:
    """Pairs, citation dates and quotes of one (20-item) digest."""
    citations = [citation for item in digest.items for citation in item.citations]
    since, until = digest.since, digest.until
    inside = sum(since <= (citation.date or "") <= until for citation in citations)
    verified = 0
    for citation in citations:
        text = sources.text(citation.doc)
        verified += text is not None and text[citation.start : citation.end] == citation.quote
    return {
        "pairs": len(digest.items) * (len(digest.items) - 1) // 2,
        "same_pairs": _same_pairs(service, [item.text for item in digest.items]),
        "citations": len(citations),
        "in_window": inside,
        "verified": verified,
    }


def _same_pairs(service: Any, texts: list[str]) -> int:
    if len(texts) < 2:
        return 0
    vectors = np.asarray(service.embedder.embed_documents(texts), dtype=np.float32)
    vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-9)
    return sum(
        f1(texts[a], texts[b]) >= SAME_THING_F1 or float(vectors[a] @ vectors[b]) >= SAME_THING_COSINE
        for a, b in combinations(range(len(texts)), 2)
    )


def _summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    pairs, citations = sum(row["pairs"] for row in rows), sum(row["citations"] for row in rows)
    found = percentiles([row["seconds@10"] * 1000 for row in rows], (50, 95))
    p50, p95 = (round(found[0], 1), round(found[1], 1)) if found else (None, None)
    return {
        "fact_recall@10": _mean(rows, "recall@10"),
        "fact_recall@20": _mean(rows, "recall@20"),
        "redundancy": round(sum(row["same_pairs"] for row in rows) / pairs, 4) if pairs else None,
        "window_precision": round(sum(row["in_window"] for row in rows) / citations, 4) if citations else None,
        "quote_verified": round(sum(row["verified"] for row in rows) / citations, 4) if citations else None,
        "latency_ms": {"p50": p50, "p95": p95},
    }


def _lead_summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    return {"fact_recall@10": _mean(rows, "lead_recall@10"), "fact_recall@20": _mean(rows, "lead_recall@20")}


def _mean(rows: list[dict[str, Any]], key: str) -> float | None:
    values = [row[key] for row in rows if row[key] is not None]
    return round(sum(values) / len(values), 4) if values else None
