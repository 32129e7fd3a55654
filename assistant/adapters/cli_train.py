"""The reader's commands: ``train`` rebuilds it from scratch (``make train-reader``), ``tune-reader`` fits its
thresholds, ``ablation`` sets it against the rules.

Owns only flags, checks on them, progress and the printed summary; the work is :mod:`assistant.train`'s.
Missing inputs are one line each, before anything slow starts.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import asdict
from pathlib import Path
from typing import Annotated

import typer

from assistant.adapters.cli_common import IndexOption, settings_from, user_errors
from assistant.errors import ConfigurationError

DEFAULT_NEWS = Path("../shared/corpora/news-2024q1")
DEFAULT_QUIZ = Path("../shared/corpora/quiz-2022-2023/questions.jsonl")
DEFAULT_OUT = Path("assistant/answer/reader_model")


def add_train_commands(app: typer.Typer) -> None:
    """Register ``train``, ``tune-reader`` and ``ablation`` on ``app``."""
    app.command("train")(train_command)
    app.command("tune-reader")(tune_reader_command)
    app.command("ablation")(ablation_command)


@user_errors
def train_command(
    news: Annotated[
        Path, typer.Option("--news", help="News corpus folder (its articles/ make questions)")
    ] = DEFAULT_NEWS,
    quiz: Annotated[
        Path, typer.Option("--quiz", help="Quiz questions with evidence paragraphs (JSONL)")
    ] = DEFAULT_QUIZ,
    out: Annotated[Path, typer.Option("--out", help="Where the int8 ONNX reader and reader.json go")] = DEFAULT_OUT,
    work: Annotated[Path, typer.Option("--work", help="Scratch folder: the generated pairs, the log")] = Path(
        ".briefings-train"
    ),
    seed: Annotated[int, typer.Option("--seed")] = 13,
    articles: Annotated[int, typer.Option("--articles", help="News articles to generate questions from")] = 450,
    quiz_limit: Annotated[int | None, typer.Option("--quiz-limit", help="Use only the first N quiz questions")] = None,
    epochs: Annotated[float, typer.Option("--epochs")] = 3.0,
    batch_size: Annotated[int, typer.Option("--batch-size")] = 32,
    max_steps: Annotated[int | None, typer.Option("--max-steps", help="Stop after N steps (a smoke run)")] = None,
    wh_movement: Annotated[
        bool, typer.Option("--wh-movement", help="Also ask clause (wh-movement) and absent-slot questions")
    ] = False,
    erase_answers: Annotated[
        bool,
        typer.Option(
            "--erase-answers/--no-erase-answers",
            help="Also train on each answering sentence with its answer taken out, as a negative",
        ),
    ] = True,
    follow_ups: Annotated[
        bool, typer.Option("--follow-ups", help="Ask some generated questions in the form a follow-up is read in")
    ] = False,
) -> None:
    """Generate training pairs, fine-tune the packaged encoder into the reader, export it as int8 ONNX."""
    from assistant.train.build import TrainPlan, train_reader

    if not (news / "articles").is_dir():
        raise ConfigurationError(f"No news articles at {news / 'articles'}: pass --news FOLDER")
    if not quiz.is_file():
        raise ConfigurationError(f"No quiz questions at {quiz}: pass --quiz FILE")
    work.mkdir(parents=True, exist_ok=True)
    log_file = logging.FileHandler(work / "train.log")
    log_file.setFormatter(logging.Formatter("%(asctime)s %(message)s"))
    progress_log = logging.getLogger("assistant.train")
    progress_log.addHandler(log_file)
    progress_log.setLevel(logging.INFO)
    plan = TrainPlan(
        news,
        quiz,
        out,
        work,
        seed,
        articles,
        quiz_limit=quiz_limit,
        epochs=epochs,
        batch_size=batch_size,
        max_steps=max_steps,
        wh_movement=wh_movement,
        erase_answers=erase_answers,
        follow_ups=follow_ups,
    )
    started = time.perf_counter()

    def progress(step: int, total: int, loss: float) -> None:
        if step % 10 == 0 or step == total:
            elapsed = time.perf_counter() - started
            progress_log.info("step %d/%d loss %.4f elapsed %.0fs", step, total, loss, elapsed)
            typer.echo(f"\rstep {step}/{total}  loss {loss:.3f}  {elapsed:.0f}s", nl=step == total, err=True)

    meta = train_reader(plan, progress)
    training = meta["training"]
    typer.echo(
        f"reader: {out / 'reader-int8.onnx'} ({training['pairs']} pairs, {training['steps']} steps, "
        f"{training['total_seconds']:.0f} s); held back: {training['held_back']}"
    )


@user_errors
def tune_reader_command(
    questions: Annotated[list[Path], typer.Argument(help="Development question sets (JSONL) to fit on")],
    index: IndexOption = None,
    reader: Annotated[
        Path | None, typer.Option("--reader", help="Reader folder whose reader.json gets the thresholds")
    ] = None,
    report: Annotated[
        Path | None, typer.Option("--report", help="Write the fit and its cross-validated figures")
    ] = None,
    casual: Annotated[
        bool, typer.Option("--casual/--written-only", help="Also fit on each question typed casually")
    ] = True,
) -> None:
    """Fit the reader's answer and span thresholds on development questions; print cross-validated figures."""
    from assistant.measure.tune_reader import MODEL_DIR, cross_validated, fit_thresholds, observe, record
    from assistant.service import BriefingService

    for path in questions:
        if not path.is_file():
            raise ConfigurationError(f"No question set at {path}")
    folder = reader or MODEL_DIR
    service = BriefingService(settings_from(index=index, reader_model=folder, answerer="reader"))
    observed = observe(service, questions, casual=casual)
    thresholds = fit_thresholds(observed)
    checked = cross_validated(observed)
    fitted = asdict(thresholds)
    record(folder, fitted)
    typer.echo(f"thresholds {fitted} written to {folder}; cross-validated: {json.dumps(checked)}")
    if report is not None:
        report.parent.mkdir(parents=True, exist_ok=True)
        body = {
            "questions": [str(p) for p in questions],
            "casual_forms": casual,
            "observed": len(observed),
            "thresholds": fitted,
        }
        report.write_text(json.dumps({**body, "cross_validated": checked}, indent=2) + "\n", encoding="utf-8")


@user_errors
def ablation_command(
    folder: Annotated[Path, typer.Argument(help="Folder of eval reports named <answerer>-<set>.json")],
    tuned: Annotated[Path | None, typer.Option("--tuned", help="tune-reader's report (cross-validated dev)")] = None,
    out: Annotated[Path | None, typer.Option("--out", help="Write the table (Markdown) and its JSON beside it")] = None,
) -> None:
    """The rules against the reader, one table from eval reports."""
    from assistant.measure.ablation import collect, markdown

    if not folder.is_dir():
        raise ConfigurationError(f"No report folder at {folder}: run `make ablation` first")
    rows = collect(folder, tuned)
    if not rows:
        raise ConfigurationError(f"No eval reports named <answerer>-<set>.json in {folder}")
    table = markdown(rows)
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(table, encoding="utf-8")
        out.with_suffix(".json").write_text(json.dumps(rows, indent=2) + "\n", encoding="utf-8")
    typer.echo(table)
