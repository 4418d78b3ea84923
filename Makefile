# chainlens: `make serve` sets everything up and serves http://127.0.0.1:8000; `make test` sets
# everything up, runs the linters (`make lint`) and then every test. Each target installs only what
# is missing, so reruns are fast. scripts/lint-fix.sh applies the linters' mechanical fixes.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip

.PHONY: serve test lint setup setup-test assets bench latency profile clean

serve: setup assets
	$(PY) -m app

test: setup-test lint assets
	npm test
	$(PY) -m pytest

# Python: ruff's rules and formatter, mypy (strict for app/engine and app/lang); the UI: ESLint.
# Their settings, and why each rule family is on or off: pyproject.toml and eslint.config.js.
lint: setup-test node_modules/.installed
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy
	npx eslint .

setup: $(VENV)/.installed
setup-test: $(VENV)/.installed-test

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q -e .
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed pyproject.toml scripts/ensure-system-packages.sh
	$(PIP) install -q -e '.[test,bench]'
	bash scripts/ensure-chromium.sh
	bash scripts/ensure-system-packages.sh
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $@

assets: node_modules/.installed
	npm run build

bench: setup-test
	$(PY) bench/run.py

latency: setup-test
	$(PY) bench/latency.py

profile: setup-test
	$(PY) bench/stages.py

clean:
	rm -rf $(VENV) node_modules static/dist test-output .mypy_cache .ruff_cache
