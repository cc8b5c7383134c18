# make test: set everything up and run every check.  make demo: set up and run the example.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: install system-deps test lint typecheck pytest docs demo bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

# Real components the tests run (never skip): redis-server and redis-cli (Cluster, Sentinel), and Chromium with its driver
# for the browser test, Node.js and npm for the DPoP client test (it installs the npm package into its own scratch folder).
# Installed from Debian's packages when missing.
SYSTEM_PACKAGES := redis-server:redis-server redis-cli:redis-tools chromium:chromium chromedriver:chromium-driver node:nodejs npm:npm
system-deps:
	@missing=""; for pair in $(SYSTEM_PACKAGES); do \
		command -v $${pair%%:*} >/dev/null 2>&1 || missing="$$missing $${pair#*:}"; done; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null; fi

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP) system-deps
	$(BIN)/python -m pytest --cov --cov-report=term --cov-fail-under=90

docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --site-dir build/site  # not --quiet: it hides the warnings strict counts

test: lint typecheck docs pytest

demo: $(STAMP)
	$(BIN)/python -m examples.demo

# make bench BASE=<git ref> [ROUNDS=n]: only the request-path cases, this working tree against the ref, taking turns.
bench: $(STAMP)
	$(BIN)/python -m benchmarks $(if $(BASE),--base $(BASE)) $(if $(ROUNDS),--rounds $(ROUNDS))

clean:
	rm -rf $(VENV) build .mypy_cache .ruff_cache .pytest_cache .hypothesis
