# Two commands on a fresh machine (each sets itself up first):
#   make run    the experiments and their figures (core install only) -> results/<exp>/figures
#   make test   the test suite
#   make backtest   the rolling-origin backtest and validation (installs the [scoring] extra first)
#   make notebooks  Jupyter on notebooks/ (installs the [notebooks] extra first)
#   make explore    the interactive explorer in the browser (installs the [viz] extra first)
#   make docs       the docs site in site/ (runs the notebooks on small settings first)
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: setup run test lint bench clean notebooks explore backtest docs

setup:
	@bash scripts/setup.sh $(VENV)

run:
	@BORDERSCEN_EXTRAS= bash scripts/setup.sh $(VENV)
	$(BIN)/borderscen reproduce

backtest:
	@BORDERSCEN_EXTRAS=scoring bash scripts/setup.sh $(VENV)
	$(BIN)/borderscen backtest --out results/backtest
	-$(BIN)/borderscen validate --out results/validate  # exits 1 while a stylized fact is missed

notebooks: setup
	$(BIN)/python -m pip install --quiet -e ".[notebooks]"
	$(BIN)/jupyter lab notebooks/

explore: setup
	$(BIN)/python -m pip install --quiet -e ".[viz]"
	$(BIN)/borderscen explore

test: setup
	$(BIN)/ruff check src tests benchmarks scripts
	$(BIN)/mypy
	$(BIN)/python -m pytest

docs: setup
	$(BIN)/python scripts/run_notebooks.py build/notebooks
	BORDERSCEN_NOTEBOOKS=build/notebooks NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --site-dir site
	@echo "docs: open site/index.html"

lint: setup
	$(BIN)/ruff check src tests benchmarks scripts

bench: setup
	$(BIN)/python benchmarks/bench.py

clean:
	rm -rf $(VENV) results figures .pytest_cache site build/notebooks
