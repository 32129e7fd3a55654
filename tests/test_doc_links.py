"""Every relative link and anchor in README.md and docs/*.md leads somewhere: a moved page or a renamed heading
must not leave a reader at a dead end. Links to other sites are not followed (the tests run offline)."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import unquote

import pytest

from tests.conftest import PROJECT

PAGES = [PROJECT / "README.md", *sorted((PROJECT / "docs").glob("*.md"))]
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")
FENCE = re.compile(r"^```.*?^```", re.M | re.S)
CODE = re.compile(r"`[^`\n]*`")


def slug(heading: str) -> str:
    """The anchor GitHub gives a heading: lower case, punctuation dropped, spaces as hyphens."""
    text = CODE.sub(lambda match: match.group(0).strip("`"), heading.strip().lower())
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors(page: Path) -> set[str]:
    text = FENCE.sub("", page.read_text(encoding="utf-8"))
    return {slug(match.group(1)) for match in re.finditer(r"^#{1,6} (.+)$", text, re.M)}


def links(page: Path) -> list[str]:
    text = CODE.sub("", FENCE.sub("", page.read_text(encoding="utf-8")))
    return [target for target in LINK.findall(text) if not re.match(r"^[a-z]+:", target)]


def broken(page: Path) -> list[str]:
    problems = []
    for target in links(page):
        path, _, anchor = target.partition("#")
        destination = (page.parent / unquote(path)).resolve() if path else page
        if not destination.exists():
            problems.append(f"{target}: no such file")
        elif anchor and destination.suffix == ".md" and anchor not in anchors(destination):
            problems.append(f"{target}: no such heading in {destination.name}")
    return problems


@pytest.mark.parametrize("document", PAGES, ids=[document.name for document in PAGES])
def test_every_relative_link_and_anchor_leads_somewhere(document: Path) -> None:
    assert broken(document) == []


def test_the_check_finds_a_broken_file_and_a_broken_anchor(tmp_path: Path) -> None:
    (tmp_path / "there.md").write_text("# Title\n\n## A `code` heading\n", encoding="utf-8")
    page = tmp_path / "page.md"
    page.write_text(
        "[ok](there.md#a-code-heading) [self](#top) [gone](missing.md) [bad](there.md#nope) `[code](x.md)`\n"
        "# Top\n[web](https://example.org/x)\n```\n[fenced](nowhere.md)\n```\n",
        encoding="utf-8",
    )
    assert broken(page) == ["missing.md: no such file", "there.md#nope: no such heading in there.md"]
