# Two commands for everything: `make run` (a working dashboard) and `make test` (the whole suite).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
HOST ?= 127.0.0.1
PORT ?= 8000
SIM_PORT ?= 8001

.PHONY: run simulator test lint install install-dev node clean

$(VENV)/.installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $(VENV)/.installed $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

install: $(VENV)/.installed node_modules/.installed
install-dev: $(VENV)/.installed-dev node_modules/.installed

run: install
	$(PY) -m artifacts_app.bootstrap
	$(PY) manage.py run_dashboard --host $(HOST) --port $(PORT)

# The demo account of `make run`, served on its own; it prints how to point manage.py at it.
simulator: install
	$(PY) -m artifacts_app.bootstrap
	$(PY) manage.py asc_simulator --demo --host $(HOST) --port $(SIM_PORT)

lint: install-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

test: install-dev lint
	$(VENV)/bin/pytest

clean:
	rm -rf $(VENV) node_modules staticfiles .pytest_cache
