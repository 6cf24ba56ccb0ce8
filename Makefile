# Two entry points: `make run` (install, build the database, serve) and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 5000

.PHONY: run test install install-test system-test-deps lint format translations screenshot bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@ $(VENV)/.installed

install: $(VENV)/.installed

install-test: $(VENV)/.installed-test

run: install
	$(BIN)/locator init
	$(BIN)/locator serve --host $(HOST) --port $(PORT)

# Debian's Chromium drives the browser tests (never a downloaded browser build).
system-test-deps:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "installing Debian's chromium for the browser tests"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk; }

test: install-test system-test-deps
	$(BIN)/ruff check locator tests bench
	$(BIN)/ruff format --check locator tests bench
	$(BIN)/python -m pytest

lint: install-test
	$(BIN)/ruff check locator tests bench
	$(BIN)/ruff format --check locator tests bench

format: install-test
	$(BIN)/ruff format locator tests bench
	$(BIN)/ruff check --fix locator tests bench

translations: install
	$(BIN)/python -m locator.web.translations.compile

# Refresh the README screenshot from the browser test.
screenshot: install-test
	LOCATOR_SCREENSHOT_DIR=docs $(BIN)/python -m pytest tests/browser -q

clean:
	rm -rf $(VENV) instance .pytest_cache
