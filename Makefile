# The two commands a person needs: `make serve` and `make test`.
# Each builds its own virtual environment from pyproject.toml on first use.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
ARGS ?=

.PHONY: serve test bench-reset clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

serve: $(VENV)/.installed
	$(BIN)/mockchats serve $(ARGS)

test: $(VENV)/.installed
	$(BIN)/python -m pytest $(ARGS)

bench-reset: $(VENV)/.installed
	$(BIN)/python bench/reset.py $(ARGS)

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache
