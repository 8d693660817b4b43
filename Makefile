# `make run` and `make test` set everything up themselves: a virtual environment with the
# pinned requirements, the embedded PostgreSQL (unless DATABASE_URL is set), the schema.

PYTHON ?= $(shell command -v python3.11 || command -v python3.12 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
INSTALLED := $(VENV)/.installed

.PHONY: run test setup migrate demo lint format stop

run: demo
	@echo "Serving on http://127.0.0.1:8000 (admin: http://127.0.0.1:8000/admin/). Ctrl-C stops the web server;"
	@echo "the database keeps running for the next start: 'make stop' stops it."
	$(PY) manage.py runserver 127.0.0.1:8000

test: migrate
	$(PY) -m pytest

setup: $(INSTALLED)

$(INSTALLED): requirements.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	@touch $(INSTALLED)

migrate: setup
	$(PY) manage.py migrate --noinput

demo: migrate
	$(PY) manage.py seed_demo --if-empty

lint: setup
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

format: setup
	$(PY) -m ruff format .
	$(PY) -m ruff check --fix .

stop: setup
	$(PY) -m loyalty_site.embedded_db stop
