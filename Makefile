# `make run` and `make test` set everything up themselves: a virtual environment with the
# pinned requirements, the front-end packages from package-lock.json, the embedded PostgreSQL
# (unless DATABASE_URL is set), the schema; `make test` also Chromium for the browser tests.

PYTHON ?= $(shell command -v python3.11 || command -v python3.12 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
INSTALLED := $(VENV)/.installed
NODE_MODULES := node_modules/.installed

.PHONY: run serve worker bench test setup migrate demo browser wrk lint format stop replica replica-stop replica-remove

# The web server and a job worker (operations/launcher.py): Ctrl-C stops both, and either stopping stops the other.
run: demo
	@echo "Serving on http://127.0.0.1:8000 (admin: http://127.0.0.1:8000/admin/). Ctrl-C stops the web server"
	@echo "and the job worker; the database keeps running for the next start: 'make stop' stops it."
	$(PY) -m operations.launcher $(PY) manage.py runserver 127.0.0.1:8000

# The production profile (loyalty_site/settings/production.py) on http://127.0.0.1:8000 (gunicorn.conf.py:
# WEB_BIND, WEB_WORKERS). SECRET_KEY comes from the environment, else from .data/secret_key, made once. Plain
# HTTP on loopback, so no redirect to HTTPS (SECURE_SSL_REDIRECT=0); behind a TLS proxy, leave it on.
# Persistent connections: gunicorn's sync workers serve one request at a time, so Django's pool adds
# nothing to them (the bench measured the two alike: docs/benchmarks.md).
PRODUCTION := DJANGO_SETTINGS_MODULE=loyalty_site.settings.production SECURE_SSL_REDIRECT=$${SECURE_SSL_REDIRECT:-0} \
	SECRET_KEY="$${SECRET_KEY:-$$(cat .data/secret_key)}" DB_POOL=$${DB_POOL:-0} \
	CONN_MAX_AGE=$${CONN_MAX_AGE:-600}
serve: migrate
	@mkdir -p .data && test -s .data/secret_key || $(PY) -c "import secrets; print(secrets.token_urlsafe(50))" > .data/secret_key
	$(PRODUCTION) $(PY) manage.py collectstatic --noinput -v0
	$(PRODUCTION) $(PY) -m operations.launcher $(PY) -m gunicorn -c gunicorn.conf.py

# The job worker alone (python manage.py worker), e.g. a second one beside make run.
worker: migrate
	$(PY) manage.py worker

# The benchmarks (docs/benchmarks.md): their own PostgreSQL in .data/bench, about 7 minutes.
bench: setup wrk
	$(PY) -m bench

# The tests run on their own embedded cluster, without WAL archiving: a run writes about 400 MB of WAL
# that no restore needs, which would otherwise fill the development cluster's archive.
TEST_DATA_DIR := $(CURDIR)/.data/test
test: setup browser wrk
	LOYALTY_DATA_DIR=$(TEST_DATA_DIR) LOYALTY_WAL_ARCHIVE=0 $(PY) -m pytest

setup: $(INSTALLED) $(NODE_MODULES)

$(INSTALLED): requirements.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	@touch $(INSTALLED)

$(NODE_MODULES): package.json package-lock.json
	@command -v npm >/dev/null || { echo "npm is needed for the front-end packages (Debian: apt-get install npm)" >&2; exit 1; }
	npm ci --no-audit --no-fund --loglevel=error
	@touch $(NODE_MODULES)

migrate: setup
	$(PY) manage.py migrate --noinput

demo: migrate
	$(PY) manage.py seed_demo --if-empty

# Debian's Chromium for the browser tests (Playwright's own browser download does not work here),
# and ffmpeg, which makes the videos the fake camera plays.
browser:
	@command -v chromium >/dev/null && command -v ffmpeg >/dev/null || { \
	  if [ "$$(id -u)" = 0 ]; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium ffmpeg >/dev/null; \
	  else echo "The browser tests need Chromium and ffmpeg: sudo apt-get install chromium ffmpeg" >&2; exit 1; fi; }

# wrk, the HTTP load generator of the benchmarks and of their smoke test.
wrk:
	@command -v wrk >/dev/null || { \
	  if [ "$$(id -u)" = 0 ]; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; \
	  else echo "The benchmarks need wrk: sudo apt-get install wrk" >&2; exit 1; fi; }

lint: setup
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

format: setup
	$(PY) -m ruff format .
	$(PY) -m ruff check --fix .

# A streaming replica of the embedded database in .data/pg-replica (README "Read replica"): made once with
# pg_basebackup -R from a replication slot, then started and stopped like the primary. LOYALTY_REPLICA=1 makes
# the app read its dashboards, lists and exports from it. replica-remove deletes it and drops its slot.
replica: setup
	$(PY) -m loyalty_site.embedded_db replica start

replica-stop: setup
	$(PY) -m loyalty_site.embedded_db replica stop

replica-remove: setup
	$(PY) -m loyalty_site.embedded_db replica remove

stop: setup
	$(PY) -m loyalty_site.embedded_db stop
	LOYALTY_DATA_DIR=$(TEST_DATA_DIR) $(PY) -m loyalty_site.embedded_db stop
