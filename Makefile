# HSSK: two commands for a fresh machine — `make run` and `make test`.
# Each does its own setup: Debian packages where missing, a virtual environment, Python packages.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test bench lint setup clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

setup: $(STAMP)

run: $(STAMP)
	@scripts/system-packages.sh libzbar0
	@scripts/run.sh

test: $(STAMP)
	@scripts/system-packages.sh libzbar0 chromium postgresql
	@# Two workers for everything but the browser (most of a test's time is spent waiting on a
	@# server or PostgreSQL); then the browser journeys one after another, alone: Chromium under
	@# another process's load drops taps. (loadfile: each file on one worker, so a module's
	@# shared server is built once; longest files first, see tests/conftest.py.)
	$(BIN)/python -m pytest -m "not e2e" -n 2 --dist loadfile --no-loadscope-reorder
	@# A browser journey hangs, rarely, in a Playwright call that has no timeout (a renderer that
	@# stopped answering), or Flutter's engine traps in the page (WebAssembly "memory access out of
	@# bounds"). tests/e2e/ then prints where and stops the renderers, so the call fails with
	@# "Target crashed" or "Page crashed"; that failure alone is walked again, once, and reported
	@# as a rerun. The whole browser run stays bounded, should anything else hang.
	timeout -k 30 900 $(BIN)/python -m pytest -m e2e --reruns 1 --only-rerun "(Target|Page) crashed"

bench: $(STAMP)
	@scripts/system-packages.sh libzbar0 postgresql
	@for f in bench/[!_]*.py; do echo "== $$f"; $(BIN)/python $$f || exit 1; done

lint: $(STAMP)
	$(BIN)/ruff check app sync tests bench
	$(BIN)/mypy

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache *.egg-info
