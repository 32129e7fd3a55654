"""``briefings formats-bench``: how fast a briefing is read and indexed as PDF, beside the same briefing as text.

The same N articles are written twice into a temporary folder: as their ``.txt`` files unchanged, and as A4 PDFs
of the same text drawn by fpdf2 (one paragraph per line of the article, the article's title and date in the PDF
metadata). Rendering the PDFs from the text, rather than collecting real PDFs, is what makes the comparison fair
(the same words on both sides) and the run reproducible from a public corpus. A speed figure alone would not say
whether the text survived, so the report also counts the PDFs whose extracted text holds every sentence of the
source verbatim (whitespace normalised), with the first sentences that did not.

Extraction (:func:`index.formats.extract_pdf` over every PDF, in memory) is timed apart from full ingest
(:func:`index.ingest.ingest`: load, extract, chunk, embed, write Chroma and the lexical index). Each ingest
writes a fresh embedded index with the same settings and the same embedder, loaded once beforehand and warmed up
by an untimed ingest, so neither model loading nor first-use imports are counted. Figures are medians of
``repeat`` runs; text and PDF ingests alternate, so a machine that gets busier mid-run slows both.

Owns: rendering the PDFs, the timings, the fidelity count, the report and its table. Must not: touch the user's
index or Chroma server, import the test suite's PDF builders, or judge whether a figure is fast enough.
"""

from __future__ import annotations

import os
import platform
import shutil
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any

from assistant.errors import BriefingsError, ConfigurationError
from assistant.measure.bench import NEWS
from assistant.measure.stats import percentiles
from assistant.settings import Settings
from assistant.text.sentences import sentence_spans
from index.articles import TEXT_SUFFIXES, Article, SourceFile, discover, load_article, parse_date_line
from index.embedding import Embedder, load_embedder
from index.formats import Extracted, extract_pdf
from index.ingest import ingest

Say = Callable[[str], None]

# DejaVu Sans covers the corpus's typographic quotes and dashes; the system copy first, then matplotlib's (a
# project dependency) so the bench draws the same glyphs on machines without the fonts-dejavu package.
SYSTEM_DEJAVU = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
FONT_SIZE = 11  # points
LINE_HEIGHT = 6  # millimetres, as a word processor sets 11 pt text
PARAGRAPH_GAP = 4  # millimetres after each paragraph, so the extractor can tell paragraphs apart
UNDATED = datetime(2024, 1, 1, tzinfo=UTC)  # a fixed creation date keeps an undated article's PDF reproducible
MISSING_EXAMPLES = 5


def default_corpus() -> Path:
    """The news articles beside this checkout, the corpus ``briefings bench`` reads besides ``corpus/``."""
    return NEWS / "articles"


# ----------------------------------------------------------------------------------------- inputs
def pick_articles(corpus: Path, count: int, spread: bool = False) -> list[tuple[SourceFile, Article]]:
    """``count`` text articles in file-name order: the first ones, or (``spread``) evenly spaced through all."""
    if not corpus.is_dir():
        raise ConfigurationError(f"No corpus folder at {corpus}: pass --corpus DIR")
    sources, _ = discover([corpus])
    texts = sorted((s for s in sources if s.path.suffix.lower() in TEXT_SUFFIXES), key=lambda s: s.doc_id)
    if spread and len(texts) > count:
        texts = [texts[index * len(texts) // count] for index in range(count)]
    picked = []
    for source in texts[:count]:
        loaded = load_article(source)
        if isinstance(loaded, Article):
            picked.append((source, loaded))
    if not picked:
        raise ConfigurationError(f"No loadable .txt or .md articles under {corpus}")
    return picked


@dataclass(frozen=True)
class Font:
    """The font the PDFs are drawn in; ``path`` is ``None`` for the built-in Helvetica (Latin-1 only)."""

    name: str
    path: Path | None
    covered: frozenset[int]

    def describe(self) -> str:
        return f"{self.name} (embedded TrueType, {self.path})" if self.path else f"{self.name} (PDF core font)"

    def drawable(self, text: str) -> tuple[str, int]:
        """``text`` with each character the font cannot draw replaced by ``?``, and how many were replaced."""
        kept = "".join(char if ord(char) in self.covered or char == "\n" else "?" for char in text)
        return kept, sum(1 for a, b in zip(text, kept, strict=True) if a != b)


def find_font() -> Font:
    """DejaVu Sans where it is installed, else Helvetica with characters outside Latin-1 replaced."""
    for candidate in (SYSTEM_DEJAVU, _matplotlib_dejavu()):
        if candidate is not None and candidate.is_file():
            from fontTools.ttLib import TTFont  # fpdf2's own dependency for TrueType fonts

            with TTFont(candidate, lazy=True) as font:
                return Font("DejaVuSans", candidate, frozenset(font.getBestCmap()))
    return Font("Helvetica", None, frozenset(range(32, 256)))


def _matplotlib_dejavu() -> Path | None:
    try:
        import matplotlib
    except ImportError:
        return None
    return Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf"


def render_pdf(article: Article, font: Font) -> tuple[bytes, int]:
    """The article as an A4 PDF, one paragraph per non-empty line; and how many characters were replaced."""
    pdf = _fpdf()(format="A4")
    pdf.set_creation_date(_creation_date(article.date))
    pdf.set_title(article.title)
    if font.path is not None:
        pdf.add_font(font.name, fname=str(font.path))
    pdf.set_font(font.name, size=FONT_SIZE)
    pdf.add_page()
    text, replaced = font.drawable(article.text)
    for line in text.split("\n"):
        if line.strip():
            pdf.multi_cell(0, LINE_HEIGHT, line.strip(), new_x="LMARGIN", new_y="NEXT")
            pdf.ln(PARAGRAPH_GAP)
    return bytes(pdf.output()), replaced


def _fpdf() -> Any:
    """fpdf2's ``FPDF`` class; it comes with the ``test`` extra, which ``make install`` installs."""
    try:
        from fpdf import FPDF
    except ImportError:
        raise ConfigurationError("formats-bench draws its PDFs with fpdf2: pip install -e '.[test]'") from None
    return FPDF


def _creation_date(date: str | None) -> datetime:
    return datetime.fromisoformat(date).replace(tzinfo=UTC) if date else UNDATED


@dataclass(frozen=True)
class Pair:
    """One article written both ways."""

    article: Article
    pdf: bytes
    replaced: int


def write_pairs(articles: Sequence[tuple[SourceFile, Article]], folder: Path, font: Font) -> list[Pair]:
    """``folder/txt`` holds the files as they are, ``folder/pdf`` their PDF renderings, both under the articles'
    relative paths (so the article ids differ only by their suffix)."""
    pairs = []
    for source, article in articles:
        text, pdf = folder / "txt" / source.doc_id, (folder / "pdf" / source.doc_id).with_suffix(".pdf")
        for path in (text, pdf):
            path.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source.path, text)
        drawn, replaced = render_pdf(article, font)
        pdf.write_bytes(drawn)
        pairs.append(Pair(article, drawn, replaced))
    return pairs


# ---------------------------------------------------------------------------------------- timings
def time_extraction(pdfs: Sequence[bytes], repeat: int) -> tuple[list[float], list[Extracted]]:
    """Seconds of each run of :func:`extract_pdf` over every PDF, and the last run's results."""
    runs: list[float] = []
    extracted: list[Extracted] = []
    for _ in range(repeat):
        started = time.perf_counter()
        extracted = [extract_pdf(pdf) for pdf in pdfs]
        runs.append(time.perf_counter() - started)
    return runs, extracted


@dataclass(frozen=True)
class IngestRun:
    seconds: float
    chunks: int
    indexed_chars: int


def time_ingest(folder: Path, settings: Settings, embedder: Embedder, expected: int) -> IngestRun:
    """One ingest of ``folder`` into the fresh index of ``settings``; every file must become an article."""
    started = time.perf_counter()
    report = ingest([folder], settings.location, embedder, settings.chunking)
    seconds = time.perf_counter() - started
    if report.skipped or report.added != expected:
        reasons = "; ".join(f"{r.source}: {r.reason}" for r in report.skipped[:3]) or "fewer articles than files"
        raise BriefingsError(f"formats-bench: ingest of {folder.name}/ added {report.added} of {expected} ({reasons})")
    return IngestRun(seconds, report.chunks, report.chars)


def time_ingests(
    folder: Path, settings: Settings, embedder: Embedder, expected: int, repeat: int, say: Say
) -> dict[str, list[IngestRun]]:
    """``repeat`` ingests of each folder, text and PDF alternating, each into a new index under ``folder``."""
    # One article's two files ingested untimed first: imports, the ONNX session's first run, Chroma's first open.
    sample = folder / "warm-up"
    sample.mkdir()
    for kind in ("txt", "pdf"):
        first = min(path for path in (folder / kind).rglob("*") if path.is_file())
        shutil.copyfile(first, sample / f"{kind}{first.suffix}")
    time_ingest(sample, settings.model_copy(update={"index": folder / "index-warm-up"}), embedder, expected=2)
    ingests: dict[str, list[IngestRun]] = {"txt": [], "pdf": []}
    for run in range(1, repeat + 1):
        for kind, runs in ingests.items():
            say(f"formats-bench: ingesting the {kind} folder, run {run}/{repeat}")
            fresh = settings.model_copy(update={"index": folder / f"index-{kind}-{run}"})
            runs.append(time_ingest(folder / kind, fresh, embedder, expected))
    return ingests


# --------------------------------------------------------------------------------------- fidelity
def _flat(text: str) -> str:
    return " ".join(text.split())


def missing_sentences(source: str, extracted: str) -> tuple[list[str], int]:
    """The source's sentences missing from the extracted text (whitespace normalised), and how many it has."""
    haystack = _flat(extracted)
    sentences = [_flat(source[span.start : span.end]) for span in sentence_spans(source)]
    return [sentence for sentence in sentences if sentence not in haystack], len(sentences)


def fidelity(pairs: Sequence[Pair], extracted: Sequence[Extracted]) -> dict[str, Any]:
    """How much of each article came back out of its PDF: every sentence, the title, the date."""
    whole = found = total = titles = dates = 0
    examples: list[dict[str, str]] = []
    for pair, result in zip(pairs, extracted, strict=True):
        missing, count = missing_sentences(pair.article.text, result.text)
        whole += not missing
        found += count - len(missing)
        total += count
        titles += result.title == pair.article.title
        dates += (parse_date_line(result.text) or result.date) == pair.article.date
        if missing and len(examples) < MISSING_EXAMPLES:
            examples.append({"doc": pair.article.id, "first_missing_sentence": missing[0]})
    return {
        "articles_with_every_sentence": whole,
        "articles": len(pairs),
        "sentences_found": found,
        "sentences": total,
        "titles_matching": titles,
        "dates_matching": dates,
        "missing_examples": examples,
        "check": "each sentence of the source (assistant.text.sentences) found verbatim in the text extract_pdf "
        "returns, runs of whitespace made one space on both sides",
    }


# ----------------------------------------------------------------------------------------- report
@dataclass(frozen=True)
class Measured:
    """Everything timed in one run, handed from the temporary folder's lifetime to the report."""

    render_seconds: float
    extraction_runs: list[float]
    extracted: list[Extracted]
    ingests: dict[str, list[IngestRun]]


def run_formats_bench(
    base: Settings,
    corpus: Path,
    count: int,
    repeat: int = 3,
    spread: bool = False,
    command: str = "",
    say: Say = lambda _: None,
) -> dict[str, Any]:
    """Render, extract and ingest ``count`` articles of ``corpus`` both ways; return the report."""
    load_before = os.getloadavg()
    _fpdf()  # before anything is read, so a missing fpdf2 is the one line the command prints
    articles = pick_articles(corpus, count, spread)
    font = find_font()
    with tempfile.TemporaryDirectory(prefix="briefings-formats-bench-") as scratch:
        folder = Path(scratch)
        say(f"formats-bench: drawing {len(articles)} PDFs in {font.name}")
        started = time.perf_counter()
        pairs = write_pairs(articles, folder, font)
        render_seconds = time.perf_counter() - started

        say(f"formats-bench: extracting text from the PDFs, {repeat} runs")
        extraction_runs, extracted = time_extraction([pair.pdf for pair in pairs], repeat)

        settings = base.model_copy(update={"chroma_url": None, "model_cache": base.model_dir.resolve()})
        say("formats-bench: loading the model")
        embedder = load_embedder(
            settings.embedding_model, settings.embedding_backend, settings.model_dir, settings.threads
        )
        ingests = time_ingests(folder, settings, embedder, len(pairs), repeat, say)
    measured = Measured(render_seconds, extraction_runs, extracted, ingests)
    selection = "evenly spaced through the sorted files" if spread else "the first files in sorted order"
    report = {"command": command, "selection": selection, **build_report(settings, corpus, pairs, font, measured)}
    report["machine"]["load_average_1m"] = {"start": round(load_before[0], 2), "end": round(os.getloadavg()[0], 2)}
    return report


def _median(samples: Sequence[float]) -> float:
    (middle,) = percentiles(samples, (50,)) or (0.0,)
    return middle


def _per_second(amount: float, seconds: float) -> float:
    return round(amount / seconds, 1) if seconds > 0 else 0.0


def build_report(settings: Settings, corpus: Path, pairs: Sequence[Pair], font: Font, m: Measured) -> dict[str, Any]:
    pages = [len(result.pages) for result in m.extracted]
    source_chars = sum(len(pair.article.text) for pair in pairs)
    extraction = _median(m.extraction_runs)
    ingest_report: dict[str, Any] = {}
    for kind, runs in m.ingests.items():
        seconds = _median([run.seconds for run in runs])
        ingest_report[kind] = {
            "seconds": round(seconds, 3),
            "runs_seconds": [round(run.seconds, 3) for run in runs],
            "chars_per_second": _per_second(source_chars, seconds),
            "articles_per_second": _per_second(len(pairs), seconds),
            "chunks": runs[0].chunks,
            "indexed_chars": runs[0].indexed_chars,
        }
    ingest_report["pdf"]["pages_per_second"] = _per_second(sum(pages), ingest_report["pdf"]["seconds"])
    text_seconds = ingest_report["txt"]["seconds"]
    return {
        "corpus": str(corpus),
        "articles": len(pairs),
        "source_chars": source_chars,
        "pdf": {
            "pages": sum(pages),
            "pages_per_pdf": {"min": min(pages), "median": _median(pages), "max": max(pages)},
            "bytes": sum(len(pair.pdf) for pair in pairs),
            "font": font.describe(),
            "characters_replaced": sum(pair.replaced for pair in pairs),
            "render_seconds": round(m.render_seconds, 3),
            "layout": f"fpdf2, A4, {FONT_SIZE} pt, one paragraph per line of the article, left-aligned",
        },
        "extraction": {
            "seconds": round(extraction, 4),
            "runs_seconds": [round(run, 4) for run in m.extraction_runs],
            "pages_per_second": _per_second(sum(pages), extraction),
            "chars_per_second": _per_second(source_chars, extraction),
            "articles_per_second": _per_second(len(pairs), extraction),
        },
        "ingest": ingest_report,
        "ratios": {"pdf_over_text_ingest_seconds": round(ingest_report["pdf"]["seconds"] / text_seconds, 3)},
        "fidelity": fidelity(pairs, m.extracted),
        "what": "seconds are medians of the runs; chars_per_second counts the source articles' characters on "
        "both sides; ingest is index.ingest.ingest into a fresh embedded index, model loaded beforehand",
        "settings": {
            "embedding_backend": settings.embedding_backend,
            "embedding_model": settings.embedding_model or "packaged all-MiniLM-L6-v2",
            "chunk_size": settings.chunk_size,
            "chunk_overlap": settings.chunk_overlap,
        },
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
            "pypdfium2": version("pypdfium2"),
            "fpdf2": version("fpdf2"),
        },
    }


def format_table(report: dict[str, Any]) -> str:
    """The report as a few lines for the terminal."""
    text, pdf, extraction = report["ingest"]["txt"], report["ingest"]["pdf"], report["extraction"]
    faithful = report["fidelity"]
    rows = [
        ("", "seconds", "chars/s", "articles/s", "pages/s"),
        _row("ingest .txt", text),
        _row("ingest .pdf", pdf),
        _row("extract .pdf only", extraction),
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(5)]
    lines = [
        "  ".join(cell.ljust(widths[i]) if i == 0 else cell.rjust(widths[i]) for i, cell in enumerate(row)).rstrip()
        for row in rows
    ]
    lines.append(
        f"{report['articles']} articles, {report['source_chars']:,} characters, {report['pdf']['pages']} PDF pages "
        f"({report['pdf']['font']}); PDF ingest takes {report['ratios']['pdf_over_text_ingest_seconds']:.2f}x "
        f"the text's time; every sentence back from {faithful['articles_with_every_sentence']} of "
        f"{faithful['articles']} PDFs ({faithful['sentences_found']:,} of {faithful['sentences']:,} sentences)"
    )
    return "\n".join(lines)


def _row(label: str, figures: dict[str, Any]) -> tuple[str, str, str, str, str]:
    pages = f"{figures['pages_per_second']:,.1f}" if "pages_per_second" in figures else "-"
    rate = f"{figures['chars_per_second']:,.0f}"
    return (label, f"{figures['seconds']:.3f}", rate, f"{figures['articles_per_second']:,.1f}", pages)
