# Sessionflow — local plumbing. `make` lists the targets; `make test` is THE test command.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Every package of the development environment, pinned with hashes (deploy/lock.sh refreshes it).
DEV_LOCK := requirements-dev.lock
# Where `make run` keeps Temporal's SQLite file and the logs (Settings.data_dir).
DATA_DIR ?= $(or $(SESSIONFLOW_DATA_DIR),.data)
# The typed client's generator, in an environment of its own: openapi-python-client pins typer below
# the service's floor, so it cannot share .venv's packages: a venv of its own inside it (`make client`).
CODEGEN := $(VENV)/codegen
CODEGEN_STAMP := $(CODEGEN)/.installed
CODEGEN_LOCK := clients/codegen.lock
# The whole tree (tests included; .venv and build are excluded in pyproject.toml).
MYPY_PATHS := .

export PIP_DISABLE_PIP_VERSION_CHECK := 1
# Zone rules from the pinned tzdata package only, never the host's (settings.pin_zone_data too).
export PYTHONTZPATH :=

.DEFAULT_GOAL := help
.PHONY: help venv test unit lint fmt schemas openapi client lock run demo bench faults clean clean-data

help: ## list the targets
	@echo "Sessionflow — make targets:"
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  %-11s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

venv: $(STAMP) ## create .venv: the hash-checked dev lock, then the project itself (editable)

# Re-installs whenever the lock or pyproject.toml changes. Only hashed, pinned packages: CI and a
# newcomer get the same versions. The project goes in without dependencies (all came from the
# lock) and without build isolation (setuptools is in the lock too). `pip check` catches a lock
# that pyproject.toml has outgrown.
$(STAMP): pyproject.toml $(DEV_LOCK)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --require-hashes -r $(DEV_LOCK)
	$(BIN)/python -m pip install --no-deps --no-build-isolation -e .
	$(BIN)/python -m pip check || { echo "$(DEV_LOCK) misses a dependency: run deploy/lock.sh"; exit 1; }
	touch $@

# The same discipline for the generator: only its hashed, pinned lock; re-installed when it changes.
$(CODEGEN_STAMP): $(CODEGEN_LOCK)
	test -x $(CODEGEN)/bin/python || $(PYTHON) -m venv $(CODEGEN)
	$(CODEGEN)/bin/python -m pip install --require-hashes -r $(CODEGEN_LOCK)
	touch $@

# The suite regenerates the client into a temporary directory and compares it with clients/python/
# (tests/unit/test_generated_client_tree.py), so it needs the generator's environment too.
test: $(STAMP) $(CODEGEN_STAMP) ## ruff check, ruff format --check, mypy, then the whole pytest suite
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy $(MYPY_PATHS)
	$(BIN)/python -m pytest

unit: $(STAMP) $(CODEGEN_STAMP) ## only the tests that need no server (pytest -m unit): seconds, no Temporal dev server
	$(BIN)/python -m pytest -m unit

lint: $(STAMP) ## ruff check, ruff format --check and mypy
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy $(MYPY_PATHS)

fmt: $(STAMP) ## ruff format and ruff's safe fixes
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

schemas: $(STAMP) ## regenerate docs/notifications/schemas/*.json and the table in docs/notifications.md from the catalogue
	$(BIN)/python -m dev.notification_schemas

openapi: $(STAMP) ## write openapi.json, the API's contract as served (commit it; a unit test fails while it is stale)
	$(BIN)/python -m dev.openapi

client: $(CODEGEN_STAMP) ## regenerate the typed client clients/python/ from the committed openapi.json (commit it; never edit it)
	rm -rf clients/python  # the generator's --overwrite keeps files it no longer makes
	clients/generate.sh clients/python

# Needs only .venv's python (for uv), not the stamp: the lock may be the thing that is stale.
lock: ## refresh requirements-dev.lock and deploy/'s locks from pyproject.toml (deploy/lock.sh)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	deploy/lock.sh

# Envelope encryption per client (README "Privacy and erasure") in the local stack and its demo; the
# CLI used against `make run` needs the same variable (SESSIONFLOW_KMS_DIR=.data/kms).
run demo: export SESSIONFLOW_KMS_DIR ?= $(CURDIR)/.data/kms

run: $(STAMP) ## Temporal dev server + Stripe stand-in + worker, until Ctrl-C (RUN_ARGS=--help)
	$(BIN)/python -m dev.stack $(RUN_ARGS)

demo: $(STAMP) ## walk a session through its life against `make run`
	$(BIN)/python -m dev.demo

bench: $(STAMP) ## benchmarks on a fresh dev server of their own (BENCH_ARGS=--quick; see bench/README.md)
	$(BIN)/python -m bench $(BENCH_ARGS)

faults: $(STAMP) ## 1,000 lifecycles under injected faults, then every rule checked (FAULTS_ARGS=--help; faults/README.md)
	$(BIN)/python -m faults $(FAULTS_ARGS)

clean: ## remove .venv (the client generator's .venv/codegen with it) and caches (keeps .data; see clean-data)
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis build *.egg-info
	find . -name __pycache__ -type d -prune -exec rm -rf {} +

clean-data: ## remove .data (or $SESSIONFLOW_DATA_DIR): Temporal's SQLite state and the logs
	rm -rf $(DATA_DIR)
