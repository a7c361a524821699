# Jobline: test, lint, validate and build; run the whole system locally (`make local`).
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
CHECKOV_VERSION := 3.3.30
CHECKOV_VENV := .venv-checkov
CHECKOV_STAMP := $(CHECKOV_VENV)/.installed-$(CHECKOV_VERSION)
SAM := $(SAM_VENV)/bin/sam

export SAM_CLI_TELEMETRY := 0

.DEFAULT_GOAL := test
.PHONY: venv sam-venv checkov-venv browser test lint validate build local token clean distclean bench

# `make local LOCAL_ARGS="--demo --store redis"`: see `python -m jobline_dev.local --help`.
LOCAL_ARGS ?=
# `make -s token TENANT=t1 ROLES=admin,operator`
TENANT ?= tenant-local
ROLES ?=

# pip's progress goes to stderr, so a first `TOKEN=$$(make -s token)` still captures only the token.
$(VENV_STAMP): pyproject.toml
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install -e '.[dev]' >&2
	touch $@

$(SAM_STAMP):
	test -x $(SAM_VENV)/bin/python || $(PYTHON) -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/python -m pip install 'aws-sam-cli==$(SAM_CLI_VERSION)'
	touch $@

venv: $(VENV_STAMP)

# The admin page's browser test drives Debian's Chromium, never a browser Playwright downloads.
CHROMIUM ?= /usr/bin/chromium
browser:
	@test -x $(CHROMIUM) || { \
		echo "installing Debian's chromium for the admin page's browser test" >&2; \
		if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >&2; }

sam-venv: $(SAM_STAMP)

# checkov, in its own venv too: the template's security checks (tests/integration/test_template_checkov.py).
$(CHECKOV_STAMP):
	test -x $(CHECKOV_VENV)/bin/python || $(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install 'checkov==$(CHECKOV_VERSION)' >&2
	touch $@

checkov-venv: $(CHECKOV_STAMP)

# Two workers, one per core: every test makes its own tenant, prefix, queues or database.
PYTEST_ARGS ?= -n 2

test: $(VENV_STAMP) $(SAM_STAMP) $(CHECKOV_STAMP) browser
	$(VENV)/bin/pytest $(PYTEST_ARGS) tests/

lint: $(VENV_STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

validate: $(SAM_STAMP)
	$(SAM) validate --lint

build: $(SAM_STAMP) $(VENV_STAMP)
	$(SAM) build
	$(VENV)/bin/python -m jobline_dev.built_layer .aws-sam/build/SharedLayer

# Every benchmark, each figure beside its baseline, into bench/RESULTS.md. Sizes by BENCH_SCALE:
# `make bench BENCH_SCALE=quick` takes a few minutes, full (the default) longer; both need Postgres and Redis.
bench: $(VENV_STAMP)
	BENCH_SCALE='$(or $(BENCH_SCALE),full)' $(VENV)/bin/python -m bench

# The local stack: moto, Postgres (DATABASE_URL or an embedded one), the HTTP API on
# http://127.0.0.1:3000, the SQS pollers and the schedules, until Ctrl-C.
local: $(VENV_STAMP)
	$(VENV)/bin/python -m jobline_dev.local $(LOCAL_ARGS)

# A development bearer token on stdout, alone, so `TOKEN=$$(make -s token)` works. Order-only
# on the venv: a token never waits for a reinstall.
token: | $(VENV_STAMP)
	@JOBLINE_STAGE="$${JOBLINE_STAGE:-local}" $(VENV)/bin/python -m jobline_dev.devtoken --tenant '$(TENANT)' --roles '$(ROLES)'

clean:
	rm -rf .aws-sam .pytest_cache .ruff_cache .mypy_cache test-artifacts
	find . -path ./$(VENV) -prune -o -path ./$(SAM_VENV) -prune -o -path ./$(CHECKOV_VENV) -prune -o -name __pycache__ -type d -prune -exec rm -rf {} +

distclean: clean
	rm -rf $(VENV) $(SAM_VENV) $(CHECKOV_VENV)
