# Quick start and tests. Everything runs from the virtualenv in .venv, which is
# created on first use and reinstalled only when a requirements file changes.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip install --disable-pip-version-check --quiet
# Where `make run` serves the web UI.
WEB_ADDR ?= 127.0.0.1:8000
# Extra pytest arguments, e.g. `make test PYTEST_ARGS="-k celery -x"`.
PYTEST_ARGS ?=

.PHONY: run test install install-dev migrate seed manage screenshots lint format clean

# The quick start runs in development mode: no SECRET_KEY needed, static files
# served straight from the apps. Set DEBUG=false (and SECRET_KEY) to override.
run migrate seed manage: export DEBUG ?= true
# Links in emails point at the address the quick start serves on.
run migrate seed manage: export SITE_URL ?= http://$(WEB_ADDR)

# Ctrl-C reaches honcho, which stops all three; the shell then ends quietly, so make
# reports no error for a deliberate stop.
run: install migrate seed
	@echo "Starting web on http://$(WEB_ADDR), Celery worker and beat. Ctrl-C stops all three."
	@trap 'echo; echo Stopped.; exit 0' INT; WEB_ADDR=$(WEB_ADDR) PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/honcho start

# Any manage.py command against the quick start's data, e.g. `make manage ARGS="run_job digest"`.
manage: install
	$(BIN)/python manage.py $(ARGS)

# PNGs of every main page at 1366x900 and 390x844, into var/screenshots/.
screenshots: install-dev node_modules/.installed
	SCREENSHOTS_DIR=$(CURDIR)/var/screenshots $(BIN)/pytest tests/browser/test_every_page.py -q $(PYTEST_ARGS)
	@echo "Screenshots are in var/screenshots/"

test: install-dev node_modules/.installed
	$(BIN)/pytest $(PYTEST_ARGS)

# Test-only tools from the npm registry (axe-core), pinned in package-lock.json.
# Without npm the accessibility checks skip (CI has npm and requires them).
node_modules/.installed: package.json package-lock.json
	@if command -v npm >/dev/null; then npm ci --no-audit --no-fund --silent && touch $@; \
	else echo "npm not found: the browser tests' accessibility checks will be skipped"; fi

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

migrate: install
	$(BIN)/python manage.py migrate --no-input

seed: migrate
	$(BIN)/python manage.py seed_demo

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install-dev
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# The stamp files record which requirements the venv was last installed from.
$(VENV)/.installed: requirements.txt | $(BIN)/python
	@echo "Installing requirements.txt into $(VENV) ..."
	$(PIP) -r requirements.txt
	@touch $@

$(VENV)/.installed-dev: requirements.txt requirements-dev.txt | $(BIN)/python
	@echo "Installing requirements-dev.txt into $(VENV) ..."
	$(PIP) -r requirements-dev.txt
	@touch $@ $(VENV)/.installed

clean:
	rm -rf $(VENV) .pytest_cache
