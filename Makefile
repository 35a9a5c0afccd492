# Lendbridge: `make run` serves the API locally, `make test` runs every check. Both are idempotent.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV   := .venv
PY     := $(VENV)/bin/python
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export PYTHONDONTWRITEBYTECODE := 1
# `make test` runs pytest under coverage; the local stack's worker processes start coverage
# themselves when COVERAGE_PROCESS_START is set (local/worker.py), each with its own data file.
COVERAGE_DIR := .local/coverage
COVERAGE_ENV := COVERAGE_PROCESS_START=$(CURDIR)/pyproject.toml COVERAGE_FILE=$(CURDIR)/$(COVERAGE_DIR)/.coverage \
	LENDBRIDGE_ROUTES_CALLED=$(CURDIR)/$(COVERAGE_DIR)/routes-called.json

.PHONY: help install run test coverage-gate lint typecheck unit integration infra e2e synth synth-check cfn-lint openapi bench integrity-check seed clean

help: ## List the targets
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-16s %s\n", $$1, $$2}'

$(VENV)/.installed: requirements.txt requirements-dev.txt lambdas/requirements.txt constraints.txt
	@test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt -c constraints.txt
	@touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

install: $(VENV)/.installed node_modules/.installed ## Create .venv and node_modules (only when their inputs changed)

run: install ## Serve the whole API on http://127.0.0.1:3000 (PORT overrides) on local AWS emulators
	$(PY) -m local.run

test: install lint typecheck synth-check cfn-lint security api-diff openapi-lint ## Every check: lint, types, synth + cdk-nag, cfn-lint, bandit + checkov, breaking API changes, Redocly lint, all tests (fuzzing included), coverage gate
	rm -rf $(COVERAGE_DIR) && mkdir -p $(COVERAGE_DIR)
	$(COVERAGE_ENV) $(PY) -m coverage run -m pytest -p no:cacheprovider tests
	$(MAKE) --no-print-directory coverage-gate

coverage-gate: ## Combine the last `make test`'s coverage data; check the floors and that every documented route was called
	@if ls $(COVERAGE_DIR)/.coverage.* >/dev/null 2>&1; then $(PY) -m coverage combine --quiet --data-file=$(COVERAGE_DIR)/.coverage; fi
	$(PY) -m tools.coverage_gate --routes $(COVERAGE_DIR)/routes-called.json

lint: install ## ruff
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: install ## mypy on the Lambda code, the CDK app and the local stack
	$(VENV)/bin/mypy lambdas/lendbridge lendbridge_infra stacks local tools benchmarks app.py

unit: install ## Unit tests only (no network)
	$(PY) -m pytest -p no:cacheprovider tests/unit

integration: install ## Data-layer tests on DynamoDB Local
	$(PY) -m pytest -p no:cacheprovider tests/integration

infra: install ## CDK assertions on both stages
	$(PY) -m pytest -p no:cacheprovider tests/infra

e2e: install ## The local stack driven over HTTP
	$(PY) -m pytest -p no:cacheprovider tests/e2e

synth: install ## Synthesize both stages into cdk.out.dev/ and cdk.out.prod/ (no AWS account needed)
	npx --no-install cdk synth --context stage=dev --output cdk.out.dev --quiet
	npx --no-install cdk synth --context stage=prod --output cdk.out.prod --quiet

synth-check: install ## Synthesize both stages; any unacknowledged cdk-nag finding fails
	$(PY) -m tools.synth_check cdk.out.dev cdk.out.prod

cfn-lint: synth-check ## cfn-lint on both stages' templates: errors fail, warnings are reported
	$(PY) -m tools.cfn_lint cdk.out.dev cdk.out.prod

openapi: install ## Regenerate docs/openapi.json from the handlers
	$(PY) -m tools.openapi --write

.PHONY: openapi-lint
openapi-lint: install ## Lint docs/openapi.json with Redocly CLI (rules in redocly.yaml; offline, no telemetry)
	REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true npx --no-install redocly lint docs/openapi.json --config redocly.yaml --format=summary

bench: install ## DynamoDB round trips and consumed capacity per request on DynamoDB Local, and each function's cold start
	$(PY) -m benchmarks.run

.PHONY: api-diff
api-diff: install ## Fail on a breaking change to docs/openapi.json since the last tag (else HEAD~1) unless recorded
	$(PY) -m tools.api_diff

.PHONY: mutate
MUTATE_SECONDS ?= 3000
mutate: install ## Mutation testing of domain/, data/cursors.py and http/ within MUTATE_SECONDS; writes docs/mutation.md
	MUTATE_SECONDS=$(MUTATE_SECONDS) $(PY) -m tools.mutate

.PHONY: load
load: install ## Locust at 1/4/16/64 users against the local API (LOAD_URL: a running make run); writes docs/load.md
	$(PY) -m benchmarks.load

integrity-check: install ## Run the referential-integrity job against the running local stack
	$(PY) -m local.integrity_check

seed: install ## Fill the running local stack with sample users and loans; prints their logins
	$(PY) -m local.seed

CHECKOV_VENV := .venv-checkov

.PHONY: security bandit checkov

security: bandit checkov ## Security scans: bandit on the Python code, checkov on both stages' templates

bandit: install ## bandit on lambdas/, lendbridge_infra/, stacks/: any medium or high finding fails
	$(VENV)/bin/bandit -c pyproject.toml -r lambdas lendbridge_infra stacks --severity-level medium --quiet

# checkov pins an older boto3 than the project's, so it gets a virtualenv of its own.
$(CHECKOV_VENV)/.installed: tools/checkov-requirements.txt tools/checkov-constraints.txt
	@test -x $(CHECKOV_VENV)/bin/python || python3 -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r tools/checkov-requirements.txt -c tools/checkov-constraints.txt
	@touch $@

checkov: synth-check $(CHECKOV_VENV)/.installed ## checkov on both stages' templates (skips and their reasons: .checkov.yaml)
	$(CHECKOV_VENV)/bin/checkov --config-file .checkov.yaml --directory cdk.out.dev
	$(CHECKOV_VENV)/bin/checkov --config-file .checkov.yaml --directory cdk.out.prod

clean: ## Remove build output (keeps .venv and node_modules)
	rm -rf cdk.out cdk.out.dev cdk.out.prod .local .pytest_cache .mypy_cache .ruff_cache
