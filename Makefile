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

.PHONY: run test install install-dev migrate seed lint format clean

# The quick start runs in development mode: no SECRET_KEY needed, static files
# served straight from the apps. Set DEBUG=false (and SECRET_KEY) to override.
run migrate seed: export DEBUG ?= true

run: install migrate seed
	@echo "Starting web on http://$(WEB_ADDR), Celery worker and beat. Ctrl-C stops all three."
	WEB_ADDR=$(WEB_ADDR) PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/honcho start

test: install-dev node_modules/.installed
	$(BIN)/pytest $(PYTEST_ARGS)

# Test-only tools from the npm registry (axe-core), pinned in package-lock.json.
node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --silent
	@touch $@

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
