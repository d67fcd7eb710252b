# PolicyQA — every target sets up .venv first (Python 3.11, CPU torch, pinned deps).
PYTHON ?= python3.11
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: setup run test lint eval bench clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	# CPU torch from local disk first, or sentence-transformers pulls CUDA builds
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e '.[test]'
	touch $(STAMP)

setup: $(STAMP)

run: setup
	$(VENV)/bin/policyqa ingest corpus/
	GRADIO_ANALYTICS_ENABLED=False $(PY) app.py

test: setup
	$(VENV)/bin/pytest -q

lint: setup
	$(VENV)/bin/ruff check ingest rag app.py tests
	$(VENV)/bin/mypy ingest rag

clean:
	rm -rf .policyqa
