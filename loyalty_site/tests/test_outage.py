"""The database stopped and restarted under a live app server (gunicorn, a cluster of its own in a temporary
directory): 503 with Retry-After and one log line while it is out of reach, 200 again once it is back, without
restarting the app server. Real processes throughout; the shared test cluster is not touched."""

import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from django.conf import settings
from django.db import OperationalError, connection, transaction
from django.db.backends.postgresql.base import DatabaseWrapper

from loyalty_site import embedded_db
from system.outage import is_database_unavailable
from system.testing import sql

BASE_DIR = Path(settings.BASE_DIR)
CARD = "/card/" + "0" * 64 + "/"  # a view that reads the database: 404 for an unknown card
SESSION = {"Cookie": "sessionid=" + "x" * 32}  # the session is read in middleware, before any view
API = "/api/v1/transactions"  # the API key is looked up: 401 for an unknown one
API_HEADERS = {"Authorization": "Bearer lk_unknown"}


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def get(base: str, path: str, headers: dict | None = None) -> tuple[int, dict, bytes]:
    request = urllib.request.Request(base + path, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=20) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def wait_until_serving(base: str, server: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert server.poll() is None, log.read_text()
        try:
            get(base, "/accounts/login/")
            return
        except OSError:
            time.sleep(0.2)
    raise AssertionError("the app server did not start:\n" + log.read_text())


@pytest.fixture(scope="module")
def data_dir():
    """A cluster of this test's own, migrated; stopped and removed at the end."""
    path = Path(tempfile.mkdtemp(prefix="lo-outage-", dir="/tmp"))
    env = {
        **os.environ,
        "LOYALTY_DATA_DIR": str(path),
        "LOYALTY_WAL_ARCHIVE": "0",
        "DJANGO_SETTINGS_MODULE": "loyalty_site.settings.test",
    }
    env.pop("TEST_DATABASE_NAME", None)
    try:
        embedded_db.ensure_server(path, archive=False)
        subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=BASE_DIR, env=env, check=True)
        yield path
    finally:
        embedded_db.stop_server(path)
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(params=["persistent", "pool"])
def app_server(request, data_dir, tmp_path):
    """gunicorn, one sync worker, on the cluster of `data_dir`: persistent connections (production's default)
    or Django's pool. Yields its address and its log file."""
    port = free_port()
    log = tmp_path / "server.log"
    env = {
        **os.environ,
        "LOYALTY_DATA_DIR": str(data_dir),
        "LOYALTY_WAL_ARCHIVE": "0",
        "DJANGO_SETTINGS_MODULE": "loyalty_site.settings.test",
        "WEB_BIND": f"127.0.0.1:{port}",
        "WEB_WORKERS": "1",
        "LOG_LEVEL": "INFO",
        **({"DB_POOL": "0", "CONN_MAX_AGE": "600"} if request.param == "persistent" else {"DB_POOL": "1"}),
    }
    env.pop("TEST_DATABASE_NAME", None)
    embedded_db.ensure_server(data_dir, archive=False)
    with log.open("w") as out:
        server = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py"],
            cwd=BASE_DIR,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_serving(base, server, log)
        yield base, log
    finally:
        server.terminate()
        server.wait(timeout=15)
        embedded_db.ensure_server(data_dir, archive=False)  # the next parameter starts with it running


def answers(base: str) -> dict[str, tuple[int, dict, bytes]]:
    return {
        "page": get(base, CARD),
        "middleware": get(base, "/accounts/login/", SESSION),
        "api": get(base, API, API_HEADERS),
    }


def assert_serving(base: str) -> None:
    got = {name: status for name, (status, _, _) in answers(base).items()}
    assert got == {"page": 404, "middleware": 200, "api": 401}


def outage_lines(log: Path) -> list[str]:
    return [line for line in log.read_text().splitlines() if "Database unavailable" in line]


@pytest.mark.django_db(databases=[])
def test_stopped_and_restarted_database_answers_503_then_recovers(app_server, data_dir):
    base, log = app_server
    assert_serving(base)

    # Restarting: the worker's connection (persistent, or idle in the pool) is broken by the restart. A request
    # that meets it answers 503; the broken connection is dropped, and the next request connects again.
    embedded_db.stop_server(data_dir)
    embedded_db.ensure_server(data_dir, archive=False)
    first = get(base, API, API_HEADERS)
    assert first[0] in (401, 503)
    if first[0] == 503:
        assert first[1]["Retry-After"] == str(settings.DB_UNAVAILABLE_RETRY_AFTER)
    assert_serving(base)

    # Stopped: every request answers 503 with Retry-After, each with one warning line and no traceback.
    embedded_db.stop_server(data_dir)
    before = len(outage_lines(log))
    got = answers(base)
    for name, (status, headers, body) in got.items():
        assert status == 503, (name, status, body[:300])
        assert headers["Retry-After"] == str(settings.DB_UNAVAILABLE_RETRY_AFTER)
    assert got["api"][1]["Content-Type"] == "application/json"
    assert b'"code": "database_unavailable"' in got["api"][2] or b'"code":"database_unavailable"' in got["api"][2]
    assert b"Back in a moment" in got["page"][2] and b"Back in a moment" in got["middleware"][2]
    time.sleep(0.3)  # the log is written by another process
    text = log.read_text()
    assert len(outage_lines(log)) - before == 3, text
    assert "Traceback" not in text and "Service Unavailable" not in text and "Internal Server Error" not in text

    # Started again: served as before, by the same app server.
    embedded_db.ensure_server(data_dir, archive=False)
    assert_serving(base)
    assert "Traceback" not in log.read_text()


@pytest.mark.django_db(databases=[])
def test_a_refused_connection_is_an_outage(tmp_path):
    refused = DatabaseWrapper({**connection.settings_dict, "HOST": str(tmp_path), "OPTIONS": {}}, alias="refused")
    with pytest.raises(OperationalError) as caught:
        refused.ensure_connection()
    assert is_database_unavailable(caught.value)


def test_a_working_database_s_errors_are_not_outages(db):
    """A statement timeout (57014) is an OperationalError of a database that works: it stays a 500."""
    with pytest.raises(OperationalError) as caught, transaction.atomic():
        sql("SET LOCAL statement_timeout = 10")
        sql("SELECT pg_sleep(1)")
    assert not is_database_unavailable(caught.value)
