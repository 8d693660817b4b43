"""The admin's Database section, its audited actions, the daily size snapshot and /metrics, against
the real database (pg_stat_statements loaded, as on the embedded server)."""

import os
import re
import secrets
import shutil
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth.models import Permission
from django.core.management import call_command
from django.db import OperationalError, connection, connections, transaction
from django.db.backends.postgresql.base import DatabaseWrapper
from django.urls import reverse
from procrastinate.exceptions import AlreadyEnqueued

from merchants.tests.factories import UserFactory, login_verified
from operations import backups, monitoring
from operations.models import DatabaseAction, SizeSnapshot
from system.testing import clear_jobs, run_jobs, sql
from transactions.testing import complete_sale

pytestmark = pytest.mark.django_db

PAGES = ["changelist", "statements", "tables", "activity"]
SERVER_USER = "pgserver"  # the embedded server's user, which runs the private clusters when tests run as root


def page(name: str) -> str:
    return reverse(f"admin:operations_database_{name}")


@pytest.fixture
def superuser_client(client):
    login_verified(client, UserFactory(is_staff=True, is_superuser=True))
    return client


def staff_with(*codenames):
    user = UserFactory(is_staff=True)
    user.user_permissions.set(Permission.objects.filter(content_type__app_label="operations", codename__in=codenames))
    return user


@pytest.fixture
def a_backup(settings, tmp_path):
    """BACKUP_DIR with one good full backup of an hour ago and a failed incremental after it."""
    settings.BACKUP_DIR = tmp_path
    finished = datetime.now(UTC) - timedelta(hours=1)
    good = backups.Backup(
        name="20261203T010000-full",
        kind=backups.FULL,
        started_at=finished - timedelta(minutes=2),
        finished_at=finished,
        size_bytes=5_000_000,
        verified=True,
        copied=True,
    )
    failed = backups.Backup(
        name="20261203T013000-incremental",
        kind=backups.INCREMENTAL,
        started_at=finished + timedelta(minutes=30),
        finished_at=finished + timedelta(minutes=31),
        error="pg_basebackup: could not connect",
    )
    for backup in (good, failed):
        backups._write(tmp_path, backup)
    return good


class Sleeper:
    """A second connection running pg_sleep in a thread; what ended it is in `.error`."""

    def __init__(self, seconds: int = 30):
        self.pid = None
        self.error = None
        self.thread = threading.Thread(target=self._run, args=[seconds])
        self.thread.start()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            sql("SELECT pg_stat_clear_snapshot()")  # the test's transaction would see the first look again
            found = sql(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                "AND query LIKE 'SELECT pg_sleep(%%' AND state = 'active'"
            )
            if found:
                self.pid = found[0][0]
                return
            time.sleep(0.05)
        raise AssertionError("the sleeping query did not start")

    def _run(self, seconds):
        try:
            with connection.cursor() as cursor:
                cursor.execute(f"SELECT pg_sleep({seconds})")
        except OperationalError as exc:
            self.error = str(exc)
        finally:
            connection.close()

    def join(self):
        self.thread.join(timeout=10)
        assert not self.thread.is_alive(), "the sleeping query was not stopped"


@pytest.mark.parametrize("name", PAGES)
def test_each_page_renders_for_a_superuser(superuser_client, merchant, program, customer, name):
    complete_sale(merchant=merchant, customer=customer, amount="12.00")
    monitoring.sizes_snapshot(day=datetime.now(UTC).date() - timedelta(days=8))
    monitoring.sizes_snapshot()
    response = superuser_client.get(page(name))
    assert response.status_code == 200
    assert b"Database" in response.content


def test_the_overview_shows_the_database_replication_and_backups(superuser_client, a_backup):
    text = superuser_client.get(page("changelist")).content.decode()
    assert "Cache hit ratio" in text
    assert "No replica: no server streams from this one." in text
    assert a_backup.name in text
    assert "failed:</strong> pg_basebackup: could not connect" in text
    assert "Month partitions" in text and '<td>audit_logs</td><td class="number">3</td>' in text


def test_the_statements_page_lists_this_databases_statements(superuser_client, merchant):
    sql("SELECT count(*) FROM merchants WHERE business_name = 'statement probe'")
    text = superuser_client.get(page("statements"), {"q": "WHERE business_name = $1"}).content.decode()
    assert "Slowest on average" in text and "Most frequent" in text
    assert text.count("SELECT count(*) FROM merchants WHERE business_name = $1</pre>") == 3  # in each list
    assert "Reset the statement statistics" in text

    text = superuser_client.get(page("statements"), {"q": "no statement says this"}).content.decode()
    assert 'No statement contains "no statement says this".' in text


@pytest.fixture
def without_pg_stat_statements(db, superuser):
    """The test database without pg_stat_statements for the test: only a superuser may drop and create it again
    (and grant its reset again to the owner and the runtime role, as loyalty_site/embedded_db.py does)."""
    [(owner,)] = sql("SELECT current_user")
    superuser.execute("DROP EXTENSION pg_stat_statements")
    yield
    superuser.execute("CREATE EXTENSION pg_stat_statements")
    superuser.execute(
        f'GRANT EXECUTE ON FUNCTION pg_stat_statements_reset TO "{owner}", "{settings.DATABASE_RUNTIME_ROLE}"'
    )


def test_without_the_extension_the_statements_page_says_what_to_do(superuser_client, without_pg_stat_statements):
    response = superuser_client.get(page("statements"))
    assert response.status_code == 200
    assert "CREATE EXTENSION pg_stat_statements" in response.content.decode()


def test_the_advice_names_shared_preload_libraries_when_it_is_not_loaded():
    status = monitoring.StatementsStatus(available=True, created=False, loaded=False)
    assert not status.ready
    assert "shared_preload_libraries" in status.advice and "CREATE EXTENSION" in status.advice
    assert "postgresql-contrib" in monitoring.StatementsStatus(available=False, created=False, loaded=False).advice


def test_the_tables_page_shows_sizes_growth_and_unused_indexes(superuser_client, merchant, program, customer):
    monitoring.sizes_snapshot(day=datetime.now(UTC).date() - timedelta(days=8))
    complete_sale(merchant=merchant, customer=customer, amount="12.00")
    monitoring.sizes_snapshot()
    text = superuser_client.get(page("tables")).content.decode()
    assert "public.transactions" in text
    assert 'data-chart="chart-sizes"' in text and "Table sizes with their indexes" in text
    assert "vendor/plotly/plotly.min.js" in text
    assert "Unused and rarely used indexes" in text


@pytest.mark.parametrize("name", PAGES)
def test_a_merchant_user_and_anonymous_are_sent_to_the_admin_login(client, staff, name):
    response = client.get(page(name))
    assert response.status_code == 302 and response["Location"].startswith(reverse("admin:login"))
    client.force_login(staff["owner"])
    response = client.get(page(name))
    assert response.status_code == 302 and response["Location"].startswith(reverse("admin:login"))


def test_staff_without_the_permission_is_refused(client):
    login_verified(client, staff_with())
    assert client.get(page("changelist")).status_code == 403
    assert client.get(page("activity")).status_code == 403


def test_staff_who_may_look_cannot_act(client):
    login_verified(client, staff_with("view_database"))
    assert client.get(page("statements")).status_code == 200
    text = client.get(page("activity")).content.decode()
    assert "Terminate" not in text
    url = reverse("admin:operations_database_signal", args=[1, "cancel"])
    assert client.post(url).status_code == 403
    assert client.post(page("statements_reset")).status_code == 403
    assert not DatabaseAction.objects.exists()


def test_a_query_cancelled_from_the_page_stops_and_is_recorded(superuser_client):
    sleeper = Sleeper()
    text = superuser_client.get(page("activity")).content.decode()
    assert f">{sleeper.pid}<" in text and "pg_sleep" in text

    url = reverse("admin:operations_database_signal", args=[sleeper.pid, "cancel"])
    response = superuser_client.post(url, follow=True)
    sleeper.join()

    assert "canceling statement due to user request" in sleeper.error
    assert f"Cancelled the query of process {sleeper.pid}." in response.content.decode()
    record = DatabaseAction.objects.get()
    assert (record.action, record.pid, record.succeeded) == ("cancel", sleeper.pid, True)
    assert "pg_sleep" in record.backend_query
    assert record.user == response.wsgi_request.user


def test_a_connection_terminated_from_the_page_ends_and_is_recorded(superuser_client):
    sleeper = Sleeper()
    url = reverse("admin:operations_database_signal", args=[sleeper.pid, "terminate"])
    response = superuser_client.post(url, follow=True)
    sleeper.join()

    assert "terminating connection due to administrator command" in sleeper.error
    assert f"Terminated the connection of process {sleeper.pid}." in response.content.decode()
    assert not sql("SELECT 1 FROM pg_stat_activity WHERE pid = %s", [sleeper.pid])
    record = DatabaseAction.objects.get()
    assert (record.action, record.pid, record.succeeded) == ("terminate", sleeper.pid, True)


def test_a_waiting_lock_is_shown_with_the_backend_that_blocks_it(superuser_client):
    locked, release = threading.Event(), threading.Event()

    def hold():
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute("LOCK TABLE size_snapshots IN ACCESS EXCLUSIVE MODE")
                cursor.execute("SELECT pg_backend_pid()")
                holder.append(cursor.fetchone()[0])
                locked.set()
                release.wait(timeout=20)
        finally:
            connection.close()

    def wait():
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT count(*) FROM size_snapshots")
        finally:
            connection.close()

    holder = []
    threads = [threading.Thread(target=hold), threading.Thread(target=wait)]
    threads[0].start()
    assert locked.wait(timeout=10)
    threads[1].start()
    try:
        deadline = time.monotonic() + 10
        while not (waiting := [lock for lock in monitoring.locks() if not lock["granted"]]):
            assert time.monotonic() < deadline, "the second query never waited"
            time.sleep(0.05)
        assert waiting[0]["relation"] == "size_snapshots" and waiting[0]["blocked_by"] == holder
        text = superuser_client.get(page("activity")).content.decode()
    finally:
        release.set()
        for thread in threads:
            thread.join(timeout=20)
    assert '<tr class="waiting">' in text and "AccessExclusiveLock" in text
    assert f"<td>{holder[0]}</td>" in text  # in "Blocked by"


def test_a_backend_that_is_gone_is_a_message_and_nothing_is_recorded(superuser_client):
    url = reverse("admin:operations_database_signal", args=[2_000_000_000, "terminate"])
    response = superuser_client.post(url, follow=True)
    assert "No backend of this database runs as process 2000000000" in response.content.decode()
    assert not DatabaseAction.objects.exists()


def test_actions_are_posts_only(superuser_client):
    assert superuser_client.get(reverse("admin:operations_database_signal", args=[1, "cancel"])).status_code == 405
    assert superuser_client.get(page("statements_reset")).status_code == 405
    assert superuser_client.post(reverse("admin:operations_database_signal", args=[1, "kill"])).status_code == 404


def test_the_reset_button_empties_the_statement_statistics_and_is_recorded(superuser_client):
    sql("SELECT count(*) FROM customers WHERE first_name = 'reset probe'")
    assert monitoring.statements(order="calls", search="FROM customers WHERE first_name")

    response = superuser_client.post(page("statements_reset"), follow=True)

    assert "The statement statistics were reset." in response.content.decode()
    assert not monitoring.statements(order="calls", search="FROM customers WHERE first_name")
    record = DatabaseAction.objects.get()
    assert (record.action, record.succeeded, record.user) == ("reset_statements", True, response.wsgi_request.user)


@pytest.fixture
def probe_role(db, superuser):
    """A role that may read the statistics and record an action, not reset them; the owner may SET ROLE to it."""
    [(owner,)] = sql("SELECT current_user")
    superuser.execute("CREATE ROLE monitoring_probe IN ROLE pg_read_all_stats")
    superuser.execute(f'GRANT monitoring_probe TO "{owner}"')
    superuser.execute("GRANT SELECT, INSERT ON database_actions TO monitoring_probe")
    yield "monitoring_probe"
    superuser.execute("DROP OWNED BY monitoring_probe")
    superuser.execute("DROP ROLE monitoring_probe")


def test_a_reset_the_role_may_not_make_is_recorded_as_refused(probe_role):
    sql(f"SET LOCAL ROLE {probe_role}")
    assert monitoring.statements_status().ready
    record = monitoring.statements_reset(user=None)
    sql("RESET ROLE")

    assert not record.succeeded and "permission denied" in record.error
    assert DatabaseAction.objects.get() == record


def test_the_size_snapshot_is_one_row_per_table_and_day():
    # A new table has no free space left by earlier tests' rows, so its rows must grow it.
    sql("CREATE TABLE size_probe (n int)")
    tables = monitoring.sizes_snapshot()
    before = SizeSnapshot.objects.get(table_name="public.size_probe").table_bytes
    sql("INSERT INTO size_probe SELECT generate_series(1, 2000)")
    call_command("snapshot_sizes")

    assert tables > 30 and SizeSnapshot.objects.count() == tables
    assert SizeSnapshot.objects.get(table_name="public.size_probe").table_bytes > before


@pytest.mark.django_db(transaction=True)
def test_the_daily_job_is_queued_once_and_runs_again_harmlessly():
    clear_jobs()
    monitoring.snapshot_sizes.defer(timestamp=0)
    with pytest.raises(AlreadyEnqueued):
        monitoring.snapshot_sizes.defer(timestamp=0)
    run_jobs()
    first = SizeSnapshot.objects.count()
    monitoring.snapshot_sizes.defer(timestamp=0)
    run_jobs()

    assert first > 0 and SizeSnapshot.objects.count() == first
    jobs = sql("SELECT status FROM procrastinate_jobs WHERE task_name = %s", [monitoring.snapshot_sizes.name])
    assert jobs == [("succeeded",), ("succeeded",)]


@pytest.fixture
def primary_and_replica(tmp_path, settings):
    """A private primary cluster and a streaming replica of it made with pg_basebackup -R, each on its
    own socket in tmp_path (PostgreSQL's binaries: PG_BIN_DIR); Django aliases "primary" and "replica"."""
    bin_dir = Path(settings.PG_BIN_DIR)
    user = SERVER_USER if os.geteuid() == 0 else None  # PostgreSQL refuses to run as root
    primary_dir, replica_dir = tmp_path / "primary", tmp_path / "replica"
    for directory in (primary_dir, replica_dir):
        directory.mkdir(mode=0o700)
        if user:
            shutil.chown(directory, user, user)
    for parent in (tmp_path, *tmp_path.parents):  # the server's user must reach its directories
        if parent.stat().st_mode & 0o001 == 0:
            parent.chmod(parent.stat().st_mode | 0o011)

    def run(*command, check=True):
        subprocess.run([str(c) for c in command], user=user, check=check, capture_output=True, timeout=120)

    def own_socket(directory):
        with (directory / "postgresql.auto.conf").open("a") as conf:
            conf.write(f"listen_addresses = ''\nunix_socket_directories = '{directory}'\narchive_mode = off\n")

    try:
        run(bin_dir / "initdb", "-D", primary_dir, "-U", "postgres", "--auth=trust", "--no-instructions")
        own_socket(primary_dir)
        run(bin_dir / "pg_ctl", "-D", primary_dir, "-l", primary_dir / "server.log", "-w", "-t", "60", "start")
        source = ["-h", primary_dir, "-U", "postgres", "-D", replica_dir]
        run(bin_dir / "pg_basebackup", *source, "-R", "-X", "stream", "--checkpoint=fast", "--no-sync")
        for copied in replica_dir.glob(".s.PGSQL.*.lock"):  # the primary's socket lock, copied with its directory
            copied.unlink()
        own_socket(replica_dir)
        run(bin_dir / "pg_ctl", "-D", replica_dir, "-l", replica_dir / "server.log", "-w", "-t", "60", "start")
        for alias, host in (("primary", primary_dir), ("replica", replica_dir)):
            database = {
                **connections["default"].settings_dict,
                "ENGINE": "django.db.backends.postgresql",
                "HOST": str(host),
                "PORT": "",
                "NAME": "postgres",
                "USER": "postgres",
                "OPTIONS": {},
            }
            connections[alias] = DatabaseWrapper(database, alias)
        yield
    finally:
        for alias in ("primary", "replica"):
            if hasattr(connections._connections, alias):
                connections[alias].close()
                del connections[alias]
        for directory in (replica_dir, primary_dir):
            if (directory / "postmaster.pid").exists():
                run(bin_dir / "pg_ctl", "-D", directory, "-m", "immediate", "-w", "stop", check=False)


def test_a_streaming_replica_is_shown_on_both_sides(primary_and_replica):
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        primary = monitoring.replication(using="primary")
        if primary["replicas"] and primary["replicas"][0]["state"] == "streaming":
            break
        time.sleep(0.2)
        with connections["primary"].cursor() as cursor:
            cursor.execute("SELECT pg_stat_clear_snapshot()")
    [replica] = primary["replicas"]
    assert not primary["is_replica"]
    assert (replica["state"], replica["sync_state"]) == ("streaming", "async")
    assert replica["lag_bytes"] is not None and replica["lag_bytes"] >= 0

    standby = monitoring.replication(using="replica")
    assert standby["is_replica"] and standby["replicas"] == []
    assert standby["replaying"]["replay_lsn"]


# /metrics --------------------------------------------------------------------------------------


def test_metrics_refuses_a_request_from_outside_without_the_token(client, settings):
    settings.METRICS_TOKEN = "a-long-scrape-token"
    assert client.get("/metrics", REMOTE_ADDR="203.0.113.5").status_code == 403
    wrong = {"HTTP_AUTHORIZATION": "Bearer not-the-token"}
    assert client.get("/metrics", REMOTE_ADDR="203.0.113.5", **wrong).status_code == 403


def test_with_a_token_set_loopback_needs_it_too(client, settings):
    # A proxy on the same host that adds no forwarding header makes every visitor look local.
    settings.METRICS_TOKEN = "a-long-scrape-token"
    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 403
    token = {"HTTP_AUTHORIZATION": "Bearer a-long-scrape-token"}
    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1", **token).status_code == 200


def test_in_production_no_network_is_allowed_by_default():
    result = subprocess.run(
        [sys.executable, "-c", "from django.conf import settings; print(settings.METRICS_ALLOWED_NETWORKS)"],
        env={
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "loyalty_site.settings.production",
            "SECRET_KEY": secrets.token_urlsafe(50),
        },
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_metrics_refuses_a_proxied_request_even_from_loopback(client):
    response = client.get("/metrics", REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.5")
    assert response.status_code == 403


def test_metrics_serves_the_token_holder_the_request_and_database_figures(client, settings, a_backup):
    settings.METRICS_TOKEN = "a-long-scrape-token"
    client.get(reverse("login"))
    response = client.get("/metrics", REMOTE_ADDR="203.0.113.5", HTTP_AUTHORIZATION="Bearer a-long-scrape-token")

    assert response.status_code == 200
    text = response.content.decode()
    assert "django_http_requests_total_by_method_total" in text
    assert "loyalty_database_up 1.0" in text
    assert 'loyalty_database_connections{state="active"}' in text
    assert "loyalty_database_size_bytes" in text and "loyalty_database_cache_hit_ratio" in text
    assert "loyalty_database_transactions_committed_total" in text and "loyalty_database_deadlocks_total" in text
    assert "loyalty_database_replicas 0.0" in text
    assert 'loyalty_jobs{status="todo"}' in text
    assert 'loyalty_partition_months_ahead{table="qr_scan_logs"} 3.0' in text
    [age] = re.findall(r"^loyalty_backup_last_success_age_seconds (\S+)$", text, re.M)
    assert 3500 < float(age) < 3700


def test_metrics_serves_an_allowed_network_without_a_token(client, settings):
    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 200
    settings.METRICS_ALLOWED_NETWORKS = ["203.0.113.0/24"]
    assert client.get("/metrics", REMOTE_ADDR="203.0.113.5").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 403
