# The verbs people expect. `make run` and `make test` set everything up on a fresh machine.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
CLI_STAMP := $(VENV)/.installed-cli
STAGE ?= dev

.PHONY: setup run test test-fast lint typecheck check build deploy bench clean

$(STAMP): pyproject.toml requirements/dev.lock
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python >= 3.11 is required")'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements/dev.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(STAMP)

setup: $(STAMP)

# `make run` installs only what the CLI needs (requirements/cli.lock); `make setup` (and `make test`)
# the whole development lock (a superset: tests, linters, SAM CLI, moto).
$(CLI_STAMP): pyproject.toml requirements/cli.lock
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python >= 3.11 is required")'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements/cli.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(CLI_STAMP)

run: $(CLI_STAMP)
	$(BIN)/alchemiser run

test: $(STAMP)
	$(BIN)/python -m pytest -q

# The unit suite alone: pure, no moto, no subprocess, no server (seconds, while you work), on
# TEST_WORKERS processes (pytest-xdist; each collects the suite, then they share the tests). Python
# may write bytecode here even where the environment sets PYTHONDONTWRITEBYTECODE: without it every
# run recompiled the project and re-rewrote the asserts of every test module and of hypothesis
# (pytest rewrites plugin packages), seconds per process; __pycache__ is in .gitignore.
TEST_WORKERS ?= 2
test-fast: $(STAMP)
	PYTHONDONTWRITEBYTECODE= $(BIN)/python -m pytest -q -n $(TEST_WORKERS) tests/unit

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy shared services alchemiser
	$(BIN)/cfn-lint infra/template.yaml

check: lint test

clean:
	rm -rf .aws-sam infra/.aws-sam build .pytest_cache .mypy_cache .ruff_cache

# ---------------------------------------------------------------- build and deploy (SAM)
# `make build` runs `sam build` in infra/ (template.yaml, samconfig.toml); for each function and
# the layer SAM calls the build-<LogicalId> target below in this directory with ARTIFACTS_DIR set.
# A function's artifact holds services/<name>/ and the shared/ packages it imports; the layer
# (DependenciesLayer, used by all four) the third-party packages of services/*/requirements.txt
# (Linux x86_64 wheels for CPython 3.12, versions pinned by requirements/dev.lock; never boto3,
# which the runtime has). Both carry bytecode compiled by python3.12.
# tests/infra/test_build.py checks these lists against the code's imports.
SAM := $(abspath $(BIN))/sam
SHARED_strategy := events runtime marketdata broker venues limits
SHARED_portfolio := events runtime broker venues marketdata limits
SHARED_execution := events runtime broker venues marketdata limits
SHARED_orchestrator := events runtime broker venues limits
LAMBDA_WHEELS := --platform manylinux2014_x86_64 --platform manylinux_2_28_x86_64 \
	--implementation cp --python-version 3.12 --only-binary=:all:
# A python3.12 that runs: on PATH, or under pyenv (a pyenv shim on PATH may not run).
PYTHON312 ?= $(shell for p in "$$(command -v python3.12)" "$$(pyenv root 2>/dev/null)"/versions/3.12*/bin/python3.12 \
	"$${PYENV_ROOT:-$$HOME/.pyenv}"/versions/3.12*/bin/python3.12; do \
	[ -x "$$p" ] && "$$p" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 12))' >/dev/null 2>&1 \
	&& { echo "$$p"; break; }; done)

build: $(STAMP)
	cd infra && SAM_CLI_TELEMETRY=0 $(SAM) build

deploy: build
	cd infra && SAM_CLI_TELEMETRY=0 $(SAM) deploy --config-env $(STAGE)

# `make bench`: cold imports, bundle sizes, warm latency, strategy evaluation, planning and the local
# chain, each against its target, in one table printed and written to docs/benchmarks.md
# (bench/run.py). It runs `make build` first unless the artifacts are newer than the sources.
bench: $(STAMP)
	BENCH_COMMAND="make bench" PYTHON312="$(PYTHON312)" $(BIN)/python bench/run.py

.PHONY: build-StrategyFunction build-PortfolioFunction build-ExecutionFunction build-OrchestratorFunction \
	build-DependenciesLayer
# The layer: the union of the four functions' requirements, under python/ (on Lambda's sys.path as
# /opt/python), so the ~120 MB of third-party packages are uploaded once, not once per function.
# Plus Powertools Tracer's X-Ray SDK (used only when the stage sets Tracing=Active:
# shared/runtime/tracing.py), without its dependency botocore, which the runtime has.
TRACER_PACKAGES := aws-xray-sdk wrapt
build-DependenciesLayer:
	@test -n "$(ARTIFACTS_DIR)" || { echo "ARTIFACTS_DIR is unset: run 'make build' (sam build calls this target)" >&2; exit 1; }
	@test -n "$(PYTHON312)" || { echo "python3.12 not found (PATH or pyenv): Lambda's bytecode must be compiled by 3.12;" \
		"install it (pyenv install 3.12) or pass PYTHON312=/path/to/python3.12" >&2; exit 1; }
	mkdir -p "$(ARTIFACTS_DIR)/python"
	cat services/*/requirements.txt | sed 's/#.*//' | sort -u > "$(ARTIFACTS_DIR)/requirements.txt"
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-compile $(LAMBDA_WHEELS) \
		--target "$(ARTIFACTS_DIR)/python" -r "$(ARTIFACTS_DIR)/requirements.txt" -c requirements/dev.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-compile $(LAMBDA_WHEELS) --no-deps \
		--target "$(ARTIFACTS_DIR)/python" $(TRACER_PACKAGES) -c requirements/dev.lock
	rm -f "$(ARTIFACTS_DIR)/requirements.txt"
	find "$(ARTIFACTS_DIR)/python" -depth -name __pycache__ -type d -exec rm -rf {} +
	rm -rf "$(ARTIFACTS_DIR)/python/bin" "$(ARTIFACTS_DIR)/python/pandas/tests"
	find "$(ARTIFACTS_DIR)/python/numpy" -depth -type d -name tests -exec rm -rf {} + 2>/dev/null || true
	"$(PYTHON312)" -m compileall -q -j 0 --invalidation-mode unchecked-hash "$(ARTIFACTS_DIR)/python"
build-StrategyFunction:
	$(call lambda_artifact,strategy)
build-PortfolioFunction:
	$(call lambda_artifact,portfolio)
build-ExecutionFunction:
	$(call lambda_artifact,execution)
build-OrchestratorFunction:
	$(call lambda_artifact,orchestrator)

define lambda_artifact
	@test -n "$(ARTIFACTS_DIR)" || { echo "ARTIFACTS_DIR is unset: run 'make build' (sam build calls this target)" >&2; exit 1; }
	@test -n "$(PYTHON312)" || { echo "python3.12 not found (PATH or pyenv): Lambda's bytecode must be compiled by 3.12;" \
		"install it (pyenv install 3.12) or pass PYTHON312=/path/to/python3.12" >&2; exit 1; }
	mkdir -p "$(ARTIFACTS_DIR)/services" "$(ARTIFACTS_DIR)/shared"
	cp services/__init__.py "$(ARTIFACTS_DIR)/services/"
	cp -R services/$(1) "$(ARTIFACTS_DIR)/services/"
	rm -f "$(ARTIFACTS_DIR)/services/$(1)/requirements.txt"
	cp shared/__init__.py shared/py.typed "$(ARTIFACTS_DIR)/shared/"
	cp -R $(addprefix shared/,$(SHARED_$(1))) "$(ARTIFACTS_DIR)/shared/"
	find "$(ARTIFACTS_DIR)" -depth -name __pycache__ -type d -exec rm -rf {} +
	"$(PYTHON312)" -m compileall -q -j 0 --invalidation-mode unchecked-hash "$(ARTIFACTS_DIR)"
endef
