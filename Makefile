# The commands people and CI use. `make run` and `make test` work on a fresh machine with no other step.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
HOST   ?= 127.0.0.1
PORT   ?= 7860
export HF_HUB_OFFLINE := 1
export GRADIO_ANALYTICS_ENABLED := False
export ANONYMIZED_TELEMETRY := False
NEWS   ?= ../shared/corpora/news-2024q1
NEWS_INDEX ?= .briefings-news
SEED_INDEX ?= .briefings-seed
QUIZ   ?= ../shared/corpora/quiz-2022-2023/questions.jsonl
READER ?= assistant/answer/reader_model

.PHONY: install run test test-fast lint browser-deps clean calibrate figures

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	# torch first and pinned: the CPU build on this machine's disk, not gigabytes of CUDA from the registry
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

## Index corpus/ and serve the chat UI on http://$(HOST):$(PORT)/
run: install
	$(BIN)/briefings ingest corpus/
	$(BIN)/briefings serve --host $(HOST) --port $(PORT)

## Set up, lint, and run every test (browser tests included): what CI runs
test: install browser-deps
	$(MAKE) lint
	$(BIN)/pytest

## Tests without the slow and browser ones
test-fast: install
	$(BIN)/pytest -m "not slow and not browser"

## Refresh the README's screenshot, docs/screenshot.png: the browser test's page after it answers a question
.PHONY: screenshot
screenshot: install browser-deps
	$(BIN)/pytest tests/assistant/test_ui_browser.py -q -p no:cacheprovider \
		-k test_chat_answers_cites_follows_up_opens_articles_and_takes_uploads --screenshot docs/screenshot.png

## Debian's chromium for the browser tests (Playwright drives it; it never downloads a browser)
browser-deps:
	@command -v chromium >/dev/null 2>&1 || { \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium; }

## Refit assistant/answer/model.json on the public news dev questions only (seed + news articles as the pool)
calibrate: install
	$(BIN)/briefings ingest corpus $(NEWS)/articles --index $(NEWS_INDEX)
	$(BIN)/briefings tune $(NEWS)/questions-dev.jsonl --index $(NEWS_INDEX) --out assistant/answer/model.json

## Rebuild the shipped list of words news writes as names (assistant/text/name_words.txt.gz), so that a name
## typed in lower case ("what did biden say") is checked against the corpus as a capitalised one is
.PHONY: name-words
name-words: install
	$(BIN)/python -m assistant.text.name_words --news $(NEWS)/articles --quiz $(QUIZ)

## Rebuild the reader model from scratch (fixed seed): generated pairs, fit, int8 ONNX, then its thresholds on the
## news dev questions only. About 30 minutes on 2 CPU cores; see assistant/answer/reader_model/READER.md
.PHONY: train-reader tune-reader ablation
train-reader: install
	$(BIN)/briefings train --news $(NEWS) --quiz $(QUIZ) --out $(READER)
	$(MAKE) tune-reader

## Fit the reader's answer and span thresholds on the news dev questions (seed + news articles as the pool)
tune-reader: install
	$(BIN)/briefings ingest corpus $(NEWS)/articles --index $(NEWS_INDEX)
	$(BIN)/briefings tune-reader $(NEWS)/questions-dev.jsonl --index $(NEWS_INDEX) --reader $(READER) \
		--report docs/eval/reader-tune.json

## The rules against the reader on every set (docs/eval/ablation/), gathered into docs/eval/ablation.md
ablation: install
	mkdir -p docs/eval/ablation
	$(BIN)/briefings ingest corpus --index $(SEED_INDEX)
	$(BIN)/briefings ingest corpus $(NEWS)/articles --index $(NEWS_INDEX)
	for a in rules reader; do \
		$(BIN)/briefings eval corpus/questions.jsonl --index $(SEED_INDEX) --answerer $$a --casual --json docs/eval/ablation/$$a-seed.json && \
		$(BIN)/briefings eval robustness/casual.jsonl --index $(SEED_INDEX) --answerer $$a --json docs/eval/ablation/$$a-seed-casual.json && \
		$(BIN)/briefings eval corpus/conversations.jsonl --index $(SEED_INDEX) --answerer $$a --json docs/eval/ablation/$$a-seed-conversations.json && \
		$(BIN)/briefings eval robustness/conversations.jsonl --index $(SEED_INDEX) --answerer $$a --json docs/eval/ablation/$$a-robustness-conversations.json && \
		$(BIN)/briefings eval corpus/questions.jsonl --index $(NEWS_INDEX) --answerer $$a --json docs/eval/ablation/$$a-seed-among-news.json && \
		$(BIN)/briefings eval $(NEWS)/questions-dev.jsonl --index $(NEWS_INDEX) --answerer $$a --casual --json docs/eval/ablation/$$a-news-dev.json \
		|| exit 1; \
	done
	$(BIN)/briefings ablation docs/eval/ablation --tuned docs/eval/reader-tune.json --out docs/eval/ablation.md

## Measure the README's quality figures, one JSON report each, into docs/eval/
figures: install
	mkdir -p docs/eval
	$(BIN)/briefings ingest corpus --index $(SEED_INDEX)
	$(BIN)/briefings eval corpus/questions.jsonl --index $(SEED_INDEX) --json docs/eval/seed.json
	$(BIN)/briefings eval corpus/conversations.jsonl --index $(SEED_INDEX) --json docs/eval/seed-conversations.json
	$(BIN)/briefings ingest corpus $(NEWS)/articles --index $(NEWS_INDEX)
	$(BIN)/briefings eval corpus/questions.jsonl --index $(NEWS_INDEX) --json docs/eval/seed-among-news.json
	$(BIN)/briefings eval corpus/conversations.jsonl --index $(NEWS_INDEX) --json docs/eval/conversations-among-news.json
	$(BIN)/briefings eval $(NEWS)/questions-dev.jsonl --index $(NEWS_INDEX) --json docs/eval/news-dev.json
	$(BIN)/briefings eval docs/eval/digests-dev.jsonl --index $(NEWS_INDEX) --json docs/eval/digests-dev.json --report docs/eval/digests-dev.md

## ruff (lint and format), mypy (strict, see pyproject.toml) and vulture (unused code) on assistant/ and index/
lint: install
	$(BIN)/ruff check assistant index tests
	$(BIN)/ruff format --check assistant index tests
	$(BIN)/mypy assistant index
	$(BIN)/vulture

clean:
	rm -rf $(VENV) .briefings .pytest_cache
