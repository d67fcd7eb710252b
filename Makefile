# PolicyQA — every target sets up .venv first (Python 3.11, CPU torch, pinned deps).
PYTHON ?= python3.11
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: setup lock chromium converters run test lint eval eval-index eval-answers bench bench-ocr clean

$(STAMP): pyproject.toml requirements.lock
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	# CPU torch from local disk first, or sentence-transformers pulls CUDA builds
	$(PY) -m pip install -q torch==2.13.0
	# the whole tree at the versions requirements.lock pins (torch==2.13.0 is the CPU build above)
	$(PY) -m pip install -q -r requirements.lock
	$(PY) -m pip install -q --no-deps -e .
	touch $(STAMP)

setup: $(STAMP)

# Re-pin the whole tree after changing pyproject.toml's dependencies (needs uv on PATH:
# `pip install uv`). torch stays the CPU build: see [tool.uv.dependency-metadata] in pyproject.toml.
lock:
	echo 'torch==2.13.0' > $(VENV)/torch-pin.txt
	uv pip compile pyproject.toml --extra test -c $(VENV)/torch-pin.txt --python-version 3.11.7 \
		--python-platform x86_64-unknown-linux-gnu --no-annotate --custom-compile-command "make lock" \
		-o requirements.lock

# Debian's Chromium for tests/test_browser.py (needs root or sudo; apt only, no browser download)
chromium:
	@test -x /usr/bin/chromium || { \
	  SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
	  $$SUDO apt-get update -q && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q \
	    chromium fonts-noto-cjk fonts-noto-color-emoji; }

# Converters and fonts for legacy Word/WPS/RTF/ODT (LibreOffice headless, antiword, catdoc), python3-uno
# (tests save password-protected .doc/.odt through it) and
# the CJK font the tests render scans with; apt only, skipped when already installed
converters:
	@{ test -x /usr/bin/soffice && test -f /usr/lib/python3/dist-packages/uno.py && test -x /usr/bin/antiword && test -x /usr/bin/catdoc && \
	   test -f /usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc; } || { \
	  SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
	  $$SUDO apt-get update -q && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q --no-install-recommends \
	    libreoffice-writer-nogui python3-uno antiword catdoc fonts-noto-cjk libgl1; }

run: setup
	$(VENV)/bin/policyqa ingest corpus/
	GRADIO_ANALYTICS_ENABLED=False $(PY) app.py

test: setup converters
	$(VENV)/bin/pytest -q

# The eval index: corpus/ plus the 72 government work reports (first build embeds ~2.8k
# chunks: about 30 min on 2 cores; later runs reuse the embedding cache).
EVAL_INDEX := $(CURDIR)/.policyqa-eval
REPORTS    ?= ../shared/corpus/extra/government_work_reports.jsonl

eval-index: setup
	POLICYQA_INDEX_DIR=$(EVAL_INDEX) $(VENV)/bin/policyqa ingest corpus/ $(REPORTS)

eval: eval-index
	POLICYQA_INDEX_DIR=$(EVAL_INDEX) $(VENV)/bin/policyqa eval evals/sets/policy_qa.jsonl \
		--retriever bm25 --retriever dense --retriever hybrid --answers --out evals/results/latest

# Answers on both sets, dev and test, on both indexes (corpus/ alone, and the eval index)
SETS := evals/sets/staff_qa.jsonl evals/sets/policy_qa.jsonl
eval-answers: eval-index
	$(VENV)/bin/policyqa ingest corpus/
	for split in dev test; do \
	  $(PY) evals/answers.py $(SETS) --split $$split --json evals/results/answers-corpus-$$split.json; \
	  POLICYQA_INDEX_DIR=$(EVAL_INDEX) $(PY) evals/answers.py $(SETS) --split $$split \
	    --json evals/results/answers-eval-$$split.json; done

bench: eval-index bench-ocr
	POLICYQA_INDEX_DIR=$(EVAL_INDEX) $(PY) evals/bench.py --repeat 2 --ingest 5 --scale 100000 --json evals/results/bench.json

# OCR pages/s and character accuracy on generated scans of corpus text (12 pt, 200 dpi)
bench-ocr: setup converters
	$(PY) evals/ocr_bench.py --pages 4 --json evals/results/ocr_bench.json

# the whole tree is kept in `ruff format` style
FORMATTED := .

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check $(FORMATTED)
	$(VENV)/bin/mypy ingest rag

clean:
	rm -rf .policyqa .policyqa-eval
