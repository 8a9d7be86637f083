# Two commands for a fresh clone with only Python 3.11+:
#   make demo   set everything up and run the demo on the embedded SQLite default
#   make test   set everything up and run the whole test suite (lint included)
# Set PYTHON=python3.12 (say) to pick the interpreter, and TESSERA_TEST_DATABASE_URL to
# run the PostgreSQL half of the suite (.ci/run does).

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed

.PHONY: demo test lint bench clean

$(INSTALLED): pyproject.toml constraints.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Tessera needs Python 3.11 or newer: run make PYTHON=python3.11 ...")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[test]'
	touch $(INSTALLED)

demo: $(INSTALLED)
	$(BIN)/tessera demo

test: $(INSTALLED) lint
	$(BIN)/python -m pytest

lint: $(INSTALLED)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

bench: $(INSTALLED)
	$(BIN)/python benchmarks/add_field_no_rewrite.py
	$(BIN)/python benchmarks/schema_build.py
	$(BIN)/python benchmarks/graphql_workloads.py
	$(BIN)/python benchmarks/pack_install.py

clean:
	rm -rf $(VENV) .tessera .pytest_cache .ruff_cache
