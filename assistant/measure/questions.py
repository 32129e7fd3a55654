"""Question sets as files: the JSONL format of DESIGN.md ("Question set"), read in one place.

Owns: reading a question-set file into its items (a missing file or a bad line is a one-line error naming
it), the evidence ids an item names, and the plain list of question texts that ``bench`` and ``load`` time.

Must not: ask, score or fit anything (``evaluation``, ``tune`` and the benches do that with what is read
here), nor quietly skip a malformed line: a typo in a question set would otherwise shrink the set that a
published figure was measured on.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from assistant.errors import BriefingsError, ConfigurationError, CorpusNotFound


def load_question_set(path: Path) -> list[dict[str, Any]]:
    """Read a JSONL question set; a bad line is an error that names the line."""
    if not path.is_file():
        raise CorpusNotFound(f"Question set not found: {path}")
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as error:
        reason = error.strerror if isinstance(error, OSError) and error.strerror else error
        raise BriefingsError(f"Cannot read question set {path}: {reason}") from None
    items = []
    for number, line in enumerate(lines, start=1):
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


def read_questions(files: Sequence[Path]) -> list[str]:
    """The text of every single question in ``files``, in order (conversations, with ``turns``, are left out)."""
    questions = [
        str(item["question"]).strip()
        for path in files
        for item in load_question_set(path)
        if str(item.get("question") or "").strip()
    ]
    if not questions:
        raise ConfigurationError("No questions to time: pass --questions FILE (JSONL with a `question` per line)")
    return questions


def evidence_docs(item: dict[str, Any]) -> frozenset[str]:
    """The article ids a question-set item names as its evidence (malformed entries are ignored)."""
    return frozenset(str(e["doc"]) for e in item.get("evidence") or () if isinstance(e, dict) and "doc" in e)
