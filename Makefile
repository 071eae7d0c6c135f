# The commands the README shows. Everything runs from the project's own virtualenv.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install demo serve panel browser test test-unit test-integration check bench bench-ingest bench-query stack-up stack-down stack-status clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

# The web panel (panel/): npm installs its packages (Chart.js, graphql-ws, vite) from the lock
# and vite builds it into panel/dist, which `subbuzz serve` serves at /panel.
PANEL_SOURCES := panel/package.json panel/index.html panel/vite.config.js $(wildcard panel/src/*)
PANEL_BUILT := panel/dist/index.html
PANEL_MODULES := panel/node_modules/.installed

$(PANEL_MODULES): panel/package.json $(wildcard panel/package-lock.json)
	cd panel && if [ -f package-lock.json ]; then npm ci --no-audit --no-fund; \
		else npm install --no-audit --no-fund; fi
	touch $@

$(PANEL_BUILT): $(PANEL_MODULES) $(PANEL_SOURCES)
	cd panel && npm run build

panel: $(PANEL_BUILT)

# Debian's Chromium for the panel's browser test; installed only when it is missing (as root,
# as CI runs). Browser downloads by test tools do not work here: none is ever attempted.
browser:
	@if [ -x /usr/bin/chromium ]; then echo "chromium: /usr/bin/chromium"; \
	else apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium; fi

demo: $(STAMP) panel
	$(BIN)/subbuzz demo

serve: $(STAMP) panel
	$(BIN)/subbuzz serve

test: $(STAMP) panel browser
	$(BIN)/subbuzz stack install
	$(BIN)/pytest tests

test-unit: $(STAMP)
	$(BIN)/pytest tests/unit

test-integration: $(STAMP) panel browser
	$(BIN)/pytest tests/integration

check: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

bench: bench-ingest bench-query

bench-ingest: $(STAMP)
	$(BIN)/python bench/ingest.py

bench-query: $(STAMP)
	$(BIN)/python bench/query.py

stack-up: $(STAMP)
	$(BIN)/subbuzz stack up

stack-down: $(STAMP)
	$(BIN)/subbuzz stack down

stack-status: $(STAMP)
	$(BIN)/subbuzz stack status

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache build *.egg-info panel/dist panel/node_modules
