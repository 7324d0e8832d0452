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
	@# A browser journey has hung twice past pytest-timeout's own exit (Playwright waiting in
	@# its event loop): the whole browser run is bounded, so such a hang fails in 15 minutes.
	timeout -k 30 900 $(BIN)/python -m pytest -m e2e

bench: $(STAMP)
	@scripts/system-packages.sh libzbar0 postgresql
	@for f in bench/[!_]*.py; do echo "== $$f"; $(BIN)/python $$f || exit 1; done

lint: $(STAMP)
	$(BIN)/ruff check app sync tests bench
	$(BIN)/mypy

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache *.egg-info
