# Jobline: test, lint, validate and build.
#
# Two virtual environments: .venv holds the app (editable) and its dev tools; .venv-sam
# holds the SAM CLI, kept apart so its pins never fight the app's. Each is (re)installed
# when its stamp is older than what it was built from.

PYTHON ?= python3.12
SAM_CLI_VERSION := 1.170.0

VENV := .venv
SAM_VENV := .venv-sam
VENV_STAMP := $(VENV)/.installed
SAM_STAMP := $(SAM_VENV)/.installed-$(SAM_CLI_VERSION)
SAM := $(SAM_VENV)/bin/sam

export SAM_CLI_TELEMETRY := 0

.DEFAULT_GOAL := test
.PHONY: venv sam-venv test lint validate build clean distclean

$(VENV_STAMP): pyproject.toml
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install -e '.[dev]'
	touch $@

$(SAM_STAMP):
	test -x $(SAM_VENV)/bin/python || $(PYTHON) -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/python -m pip install 'aws-sam-cli==$(SAM_CLI_VERSION)'
	touch $@

venv: $(VENV_STAMP)

sam-venv: $(SAM_STAMP)

test: $(VENV_STAMP)
	$(VENV)/bin/pytest tests/

lint: $(VENV_STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

validate: $(SAM_STAMP)
	$(SAM) validate --lint

build: $(SAM_STAMP)
	$(SAM) build

clean:
	rm -rf .aws-sam .pytest_cache .ruff_cache .mypy_cache test-artifacts
	find . -path ./$(VENV) -prune -o -path ./$(SAM_VENV) -prune -o -name __pycache__ -type d -prune -exec rm -rf {} +

distclean: clean
	rm -rf $(VENV) $(SAM_VENV)
