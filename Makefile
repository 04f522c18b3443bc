# The two commands the README promises. Both create .venv when it is missing and install
# what they need from pyproject.toml, so a fresh clone with only python3 (and Java 17 for
# local Spark) is enough.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
DEMO_OUT ?= demo-output

.PHONY: test demo lint typecheck unit bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed-local: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[local]'
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	touch $@ $(VENV)/.installed-local

test: $(VENV)/.installed-dev lint typecheck unit

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .

typecheck: $(VENV)/.installed-dev
	$(BIN)/mypy runtime simulator

unit: $(VENV)/.installed-dev
	$(BIN)/pytest

demo: $(VENV)/.installed-local
	$(BIN)/landing demo --stack dev --json $(DEMO_OUT)/demo.json --timeline $(DEMO_OUT)/timeline.png

bench: $(VENV)/.installed-dev
	for script in bench/bench_*.py; do $(BIN)/python $$script || exit 1; done

clean:
	rm -rf $(DEMO_OUT) .pytest_cache .mypy_cache .ruff_cache
