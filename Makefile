# The two commands the README promises. Both create .venv when it is missing and install
# what they need from pyproject.toml, so a fresh clone with only python3 (and Java 17 for
# local Spark) is enough.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
DEMO_OUT ?= demo-output

.PHONY: test demo lint typecheck unit bench clean install plan config simulate help
STACK ?= dev
SCENARIO ?= examples/seed-card.yaml

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Deploy-only: what `pulumi up` needs (pulumi, pulumi-aws, boto3, PyYAML) and the `landing` command.
$(VENV)/.installed-deploy: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[cli]'
	touch $@

$(VENV)/.installed-local: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[local]'
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	touch $@ $(VENV)/.installed-local $(VENV)/.installed-deploy

test: $(VENV)/.installed-dev lint typecheck unit

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .

# mypy reads packages from folders, and the installed layout maps runtime/ to landing_pipeline/runtime:
# a tree of links gives it that layout, so every package is checked under the names users import.
TYPECHECK_TREE := build/typecheck
PACKAGES := runtime components simulator emulator cli provider

typecheck: $(VENV)/.installed-dev
	rm -rf $(TYPECHECK_TREE) && mkdir -p $(TYPECHECK_TREE)/landing_pipeline
	for f in landing_pipeline/*.py landing_pipeline/py.typed $(PACKAGES); do \
	    ln -s "$(CURDIR)/$$f" $(TYPECHECK_TREE)/landing_pipeline/; done
	cd $(TYPECHECK_TREE) && $(CURDIR)/$(BIN)/mypy --config-file $(CURDIR)/pyproject.toml -p landing_pipeline

# One worker per core (PYTEST_WORKERS=0 runs serially); --dist loadfile keeps each test file, and so its
# module-scoped deploys and Spark session, in one worker.
PYTEST_WORKERS ?= auto
unit: $(VENV)/.installed-dev
	$(BIN)/pytest --numprocesses $(PYTEST_WORKERS) --dist loadfile

demo: $(VENV)/.installed-local
	$(BIN)/landing demo --stack dev --json $(DEMO_OUT)/demo.json --timeline $(DEMO_OUT)/timeline.png

help:
	@echo "make demo      run the stack locally (emulated AWS, local Spark); output in $(DEMO_OUT)/"
	@echo "make test      lint, type-check and the whole test suite"
	@echo "make install   what 'pulumi up' needs, plus the landing command (deploy-only)"
	@echo "make config    STACK=dev: the stack's effective settings, checked"
	@echo "make plan      STACK=dev: the resources 'pulumi up' would create (Pulumi's mocks, no AWS)"
	@echo "make simulate  STACK=dev SCENARIO=examples/seed-card.yaml: capacity simulation with plots in sim-output/"
	@echo "Any other command: .venv/bin/landing --help (or 'source .venv/bin/activate' first)"

install: $(VENV)/.installed-deploy

config: $(VENV)/.installed-deploy
	$(BIN)/landing config --stack $(STACK)

plan: $(VENV)/.installed-deploy
	$(BIN)/landing plan --stack $(STACK)

simulate: $(VENV)/.installed-local
	$(BIN)/landing simulate --stack $(STACK) --scenario $(SCENARIO) --plots sim-output/

bench: $(VENV)/.installed-dev
	for script in bench/bench_*.py; do $(BIN)/python $$script || exit 1; done

clean:
	rm -rf $(DEMO_OUT) build .pytest_cache .mypy_cache .ruff_cache
