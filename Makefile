# The two commands a person needs: `make serve` and `make test`.
# Each builds its own virtual environment from pyproject.toml on first use.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
ARGS ?=

.PHONY: serve test bench bench-reset screenshot clean

# Serving needs mockchats and its dependencies only; the tests (and the bench) add the `test`
# extra. One stamp file each, so `make serve` never installs the test tools.
$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.serve-installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.test-installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@ $(VENV)/.serve-installed

serve: $(VENV)/.serve-installed
	$(BIN)/mockchats serve $(ARGS)

# The hub tests drive Microsoft's JavaScript SignalR client, installed as package-lock.json pins it
# (again whenever the lock changes). Without npm the install is skipped with a word and those tests
# skip, except under CI, which has Node, where they fail.
node_modules/.installed: package.json package-lock.json
	@if command -v npm >/dev/null 2>&1; then \
		npm ci --no-audit --no-fund --loglevel=error && touch $@; \
	else \
		echo "npm not found: the hub tests that run the JavaScript SignalR client will skip"; \
	fi

# The style first (seconds), then the suite.
test: $(VENV)/.test-installed node_modules/.installed
	$(BIN)/ruff check mockchats tests bench
	$(BIN)/python -m pytest -n 2 $(ARGS)

# mockchats against Prism, WireMock and a bare Flask floor; see bench/bench.py.
# QUICK=1: the smoke run (a few seconds per server, installs nothing); SERVERS=1: only the
# serving-stack comparison (granian ASGI as serve ships it, granian WSGI, gunicorn).
# AGAINST=<git ref>: the app at that ref runs in the same run (at least 5 interleaved rounds) and
# this tree's req/s are given over its. BENCH_ARGS: more options for bench.py.
BENCH_ARGS ?=
AGAINST ?=
bench: $(VENV)/.test-installed
	$(BIN)/python bench/bench.py $(if $(QUICK),--quick) $(if $(SERVERS),--servers-only) \
		$(if $(AGAINST),--against $(AGAINST)) $(BENCH_ARGS)

bench-reset: $(VENV)/.test-installed
	$(BIN)/python bench/reset.py $(ARGS)

# The README's picture of the dashboard, taken with the browser the tests use (Debian's chromium).
screenshot: $(VENV)/.test-installed
	$(BIN)/python tests/ui/screenshot.py docs/dashboard.png

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache
