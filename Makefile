# Two commands on a fresh machine (each sets itself up first):
#   make run    the three-scenario experiment and its figures  -> results/, figures/
#   make test   the test suite
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: setup run test lint bench clean

setup:
	@bash scripts/setup.sh $(VENV)

run: setup
	$(BIN)/borderscen reproduce

test: setup
	$(BIN)/python -m pytest

lint: setup
	$(BIN)/ruff check src tests benchmarks scripts

bench: setup
	$(BIN)/python benchmarks/bench.py

clean:
	rm -rf $(VENV) results figures .pytest_cache
