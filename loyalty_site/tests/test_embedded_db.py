"""The embedded PostgreSQL, the machine's PostgreSQL as a fallback, and DATABASE_URL."""

import os
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest
from django.conf import settings

from loyalty_site import embedded_db

ROOT = Path(settings.BASE_DIR)


def run_manage(*args, env_extra):
    env = {**os.environ, **env_extra}
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def test_without_pgserver_the_machines_postgresql_is_started(tmp_path, monkeypatch):
    real_find_spec = embedded_db.importlib.util.find_spec
    monkeypatch.setattr(
        embedded_db.importlib.util,
        "find_spec",
        lambda name, *a: None if name == "pgserver" else real_find_spec(name, *a),
    )
    data_dir = tmp_path / "data"
    try:
        server = embedded_db.ensure_server(data_dir, database="fallback_test")
        with psycopg.connect(host=server.host, port=server.port, user=server.user, dbname="fallback_test") as conn:
            assert conn.execute("SELECT current_database()").fetchone() == ("fallback_test",)
        assert (data_dir / "pg-system" / "PG_VERSION").exists()
        assert not (data_dir / "pg").exists()
    finally:
        assert embedded_db.stop_server(data_dir)
    assert not (data_dir / "pg-system" / "postmaster.pid").exists()


def test_with_no_postgresql_at_all_the_message_says_what_to_do():
    with pytest.raises(embedded_db.EmbeddedDatabaseError) as error:
        embedded_db.find_system_binaries(patterns=[], use_path=False)
    message = str(error.value)
    assert "pgserver" in message and "apt-get install postgresql" in message and "DATABASE_URL" in message


def test_with_database_url_set_that_server_is_used_and_nothing_is_started(tmp_path, db):
    server = embedded_db.ensure_server()
    url = f"postgres://{server.user}@/{embedded_db.DATABASE_NAME}?host={server.host}&port={server.port}"
    unused = tmp_path / "unused-data-dir"

    result = run_manage(
        "shell",
        "-v",
        "0",
        "-c",
        "from django.db import connection; connection.ensure_connection(); "
        "print(connection.settings_dict['ENGINE'], connection.get_connection_params()['dbname'])",
        env_extra={"DATABASE_URL": url, "LOYALTY_DATA_DIR": str(unused)},
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["django.db.backends.postgresql", "loyalty"]
    assert not unused.exists()


def test_without_database_url_the_embedded_server_is_used(db):
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    result = subprocess.run(
        [sys.executable, "-m", "loyalty_site.embedded_db", "url"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("postgresql://postgres@/loyalty?host=")
