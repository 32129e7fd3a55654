"""Loading files into articles: dates, titles, formats and files that are not articles."""

from __future__ import annotations

from pathlib import Path

import pytest

from index.articles import Article, Rejected, SourceFile, discover, load_article
from index.errors import CorpusNotFound
from tests.conftest import SEED_CORPUS, SEED_DOC


def load(path: Path) -> Article | Rejected:
    return load_article(SourceFile(path, path.name))


def test_seed_article_date_title_and_text_are_the_file(tmp_path: Path) -> None:
    article = load(SEED_CORPUS / SEED_DOC)
    assert isinstance(article, Article)
    assert article.date == "2022-02-20"
    assert article.title.startswith("Russian President Vladimir Putin and French President Emmanuel Macron")
    assert article.text == (SEED_CORPUS / SEED_DOC).read_text(encoding="utf-8")
    assert article.id == SEED_DOC


def test_date_line_then_title_line(tmp_path: Path) -> None:
    path = tmp_path / "a.txt"
    path.write_text("date 2024-01-05\nCNN news quiz answer note\nThe highest wage is in Washington.\n")
    article = load(path)
    assert isinstance(article, Article)
    assert (article.date, article.title) == ("2024-01-05", "CNN news quiz answer note")


def test_no_date_line_and_impossible_date(tmp_path: Path) -> None:
    plain = tmp_path / "plain.txt"
    plain.write_text("Budget talks stall\nThe talks stalled again.")
    bad = tmp_path / "bad.txt"
    bad.write_text("date 2024-13-45 Something happened.")
    assert load(plain).date is None  # type: ignore[union-attr]
    assert load(bad).date is None  # type: ignore[union-attr]


def test_markdown_title_is_first_heading(tmp_path: Path) -> None:
    path = tmp_path / "note.md"
    path.write_text("date 2023-03-01\nSome intro line.\n\n## Ceasefire holds in the north\n\nText.")
    article = load(path)
    assert isinstance(article, Article)
    assert article.title == "Ceasefire holds in the north"
    assert article.date == "2023-03-01"


def test_html_is_extracted_without_markup(tmp_path: Path) -> None:
    path = tmp_path / "page.html"
    body = "<p>date 2021-06-01 The summit opened in Geneva on Wednesday with both delegations present.</p>" * 3
    path.write_text(f"<html><head><title>Geneva summit</title></head><body><nav>Home | News</nav>{body}</body></html>")
    article = load(path)
    assert isinstance(article, Article)
    assert article.title == "Geneva summit"
    assert article.date == "2021-06-01"
    assert "<p>" not in article.text and "Geneva on Wednesday" in article.text


@pytest.mark.parametrize(
    ("content", "reason"),
    [(b"", "empty"), (b"   \n\t ", "empty"), (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" * 20, "binary")],
)
def test_empty_and_binary_files_are_rejected(tmp_path: Path, content: bytes, reason: str) -> None:
    path = tmp_path / "x.txt"
    path.write_bytes(content)
    result = load(path)
    assert isinstance(result, Rejected)
    assert reason in result.reason


def test_non_utf8_is_decoded_with_replacement_and_flagged(tmp_path: Path) -> None:
    path = tmp_path / "latin.txt"
    path.write_bytes("Caf\xe9 talks resumed in Paris on Monday.".encode("latin-1"))
    article = load(path)
    assert isinstance(article, Article)
    assert article.lossy
    assert "\ufffd" in article.text


def test_unreadable_file_is_rejected(tmp_path: Path) -> None:
    result = load(tmp_path / "missing.txt")
    assert isinstance(result, Rejected)
    assert "unreadable" in result.reason


def test_discover_ids_are_relative_and_other_files_ignored(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.md").write_text("# B\ntext")
    (tmp_path / "a.txt").write_text("A\ntext")
    (tmp_path / "questions.jsonl").write_text("{}")
    (tmp_path / ".hidden.txt").write_text("secret")
    found, rejected = discover([tmp_path])
    assert sorted(source.doc_id for source in found) == ["a.txt", "sub/b.md"]
    assert rejected == []


def test_discover_reports_a_named_file_of_unknown_type(tmp_path: Path) -> None:
    path = tmp_path / "report.xlsx"
    path.write_bytes(b"PK\x03\x04 a spreadsheet")
    found, rejected = discover([path])
    assert found == [] and "unsupported" in rejected[0].reason


def test_discover_missing_path_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(CorpusNotFound, match="not found"):
        discover([tmp_path / "nowhere"])


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("report.txt", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n" + b"\x00" * 64, "rename it to .pdf"),
        ("report.pdf", b"date 2024-01-01\nThe harbour reopened on Monday.\n", "rename it to .txt"),
        ("report.eml", b"PK\x03\x04" + b"\x00" * 26 + b"word/document.xml" + b"\x00" * 64, "rename it to .docx"),
    ],
)
def test_a_file_named_as_another_type_says_what_it_really_is(
    tmp_path: Path, name: str, content: bytes, reason: str
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    rejected = load_article(SourceFile(path, name))
    assert isinstance(rejected, Rejected) and rejected.reason.endswith(f"{reason})"), rejected
