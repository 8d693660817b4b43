"""The read replica against a real streaming replica of the test cluster (pg_basebackup -R, a physical slot),
made for this module and removed after it: routing, read-your-writes, lag fallback, the replica down.

Which server a page read from is seen twice: in the queries each alias ran, and in the data (replay is paused
with pg_wal_replay_pause(), so a sale made meanwhile is on the primary only). The tests are transactional: a
row must be committed to stream. The ordinary tests have no replica alias (loyalty_site/settings/test.py)."""

import time
from pathlib import Path

import psycopg
import pytest
from django.db import connection, connections
from django.test import Client, override_settings
from django.urls import reverse

from analytics.selectors import member_get
from loyalty_site import embedded_db
from system import replica
from transactions.testing import complete_sale

pytestmark = pytest.mark.django_db(transaction=True, databases=["default", replica.REPLICA])


@pytest.fixture(scope="module", autouse=True)
def replica_server(django_db_setup, django_db_blocker):
    """A streaming replica of the test cluster, added as the `replica` alias (the runtime role, the test
    database), stopped and removed with its slot at the end."""
    data_dir = Path(connection.settings_dict["DATA_DIR"])
    server = embedded_db.start_replica(data_dir)
    settings_dict = {
        **connection.settings_dict,
        "ROLE": "app",
        "REPLICA": True,
        "OPTIONS": {"connect_timeout": 2, "options": "-c lock_timeout=500"},
        "CONN_MAX_AGE": 0,
        "TEST": {"MIRROR": "default"},
    }
    configured = connections.configure_settings({"default": connection.settings_dict, replica.REPLICA: settings_dict})
    connections.settings[replica.REPLICA] = configured[replica.REPLICA]
    routed = override_settings(DATABASE_ROUTERS=["system.replica.ReplicaRouter"])  # as settings/base.py with one
    routed.enable()
    with superuser(server) as conn:
        conn.execute("SELECT pg_wal_replay_resume()")  # an interrupted run may have left it paused
    with django_db_blocker.unblock():
        wait_replayed(server)
    yield server
    routed.disable()
    connections[replica.REPLICA].close()
    del connections[replica.REPLICA]
    del connections.settings[replica.REPLICA]
    embedded_db.remove_replica(data_dir)


@pytest.fixture(autouse=True)
def fresh(replica_server, settings):
    settings.DATABASE_REPLICA_CHECK_SECONDS = 0  # every page checks again
    settings.DATABASE_REPLICA_RETRY_SECONDS = 0
    settings.DATABASE_REPLICA_MAX_LAG = 30
    replica.reset()
    yield
    replica.reset()
    if not embedded_db.replica_running(Path(connection.settings_dict["DATA_DIR"])):
        embedded_db.start_replica(Path(connection.settings_dict["DATA_DIR"]))
    with superuser(replica_server) as conn:
        conn.execute("SELECT pg_wal_replay_resume()")


def superuser(server):
    return psycopg.connect(**server.login(), dbname="postgres", autocommit=True)


def wait_replayed(server, timeout=15):
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_current_wal_lsn()::text")
        target = cursor.fetchone()[0]
    deadline = time.monotonic() + timeout
    with superuser(server) as conn:
        while not conn.execute("SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", [target]).fetchone()[0]:
            assert time.monotonic() < deadline, "the replica did not catch up"
            time.sleep(0.05)


def pause(server):
    wait_replayed(server)  # the previous test's TRUNCATE replayed to its end: its locks released
    with superuser(server) as conn:
        conn.execute("SELECT pg_wal_replay_pause()")
        while conn.execute("SELECT pg_get_wal_replay_pause_state()").fetchone()[0] != "paused":
            time.sleep(0.02)


def resume(server):
    with superuser(server) as conn:
        conn.execute("SELECT pg_wal_replay_resume()")
    wait_replayed(server)


def get(client, url, **params):
    """The response, and the number of queries the page ran on the primary and on the replica (counted
    without connecting, unlike CaptureQueriesContext: the replica may be down), the replica's check aside."""
    counts = {"default": 0, replica.REPLICA: 0}

    def counter(alias):
        def wrapper(execute, sql, params, many, context):
            counts[alias] += "pg_is_in_recovery()" not in sql  # the page's reads, not the replica's check
            return execute(sql, params, many, context)

        return wrapper

    with connections["default"].execute_wrapper(counter("default")):
        with connections[replica.REPLICA].execute_wrapper(counter(replica.REPLICA)):
            response = client.get(url, params)
            if response.streaming:
                response.content_bytes = b"".join(response.streaming_content)
    assert response.status_code == 200, response.status_code
    return response, counts["default"], counts[replica.REPLICA]


def points_shown(response, points: int) -> bool:
    """Whether the customers page shows `points` in its Points column (the table is read while rendering)."""
    return f'<td class="text-end">{points:,}</td>' in response.content.decode()


def current_points(merchant, customer) -> int:
    return member_get(merchant=merchant, customer_id=customer.pk).current_points  # the primary


def test_the_dashboard_and_the_lists_read_from_the_replica(replica_server, as_role, merchant, program, customer):
    first = complete_sale(merchant=merchant, customer=customer, amount="10.00")
    client = as_role("owner")
    pause(replica_server)
    second = complete_sale(merchant=merchant, customer=customer, amount="5.00")  # on the primary only

    response, _, on_replica = get(client, reverse("home"))
    assert on_replica > 0
    assert response.context["today"].today_transactions == 1
    for name in ("transactions", "customers", "daily_analytics"):
        response, _, on_replica = get(client, reverse(name))
        assert on_replica > 0, name
    page = get(client, reverse("transactions"))[0].content.decode()
    assert str(first.pk) in page and str(second.pk) not in page
    export, _, on_replica = get(client, reverse("transactions"), _export="csv")
    assert on_replica > 0 and export.content_bytes.count(b"\n") == 2  # the header and the one replayed sale

    # Everything else reads the primary: the sale the replica has not replayed is there.
    response, _, on_replica = get(client, reverse("transaction", args=[second.pk]))
    assert on_replica == 0 and response.context["sale"].pk == second.pk


def test_a_user_who_wrote_reads_the_primary_until_the_replica_has_the_write(
    replica_server, as_role, staff, merchant, program, customer, client
):
    complete_sale(merchant=merchant, customer=customer)
    owner = as_role("owner")
    wait_replayed(replica_server)
    before = current_points(merchant, customer)
    pause(replica_server)
    adjusted = owner.post(reverse("customer_adjust", args=[customer.pk]), {"points_change": 7000, "reason": "test"})
    assert adjusted.status_code == 302 and replica.PIN_COOKIE in adjusted.cookies

    response, _, on_replica = get(owner, reverse("customers"))
    assert on_replica == 0 and points_shown(response, before + 7000)

    manager = Client()
    manager.force_login(staff["manager"])  # has not written: reads the replica, without the adjustment
    response, _, on_replica = get(manager, reverse("customers"))
    assert on_replica > 0 and points_shown(response, before) and not points_shown(response, before + 7000)

    resume(replica_server)  # the replica has the write: the owner reads from it again
    response, _, on_replica = get(owner, reverse("customers"))
    assert on_replica > 0 and points_shown(response, before + 7000)


def test_a_row_not_replayed_yet_is_read_from_the_primary(replica_server, as_role, merchant):
    pause(replica_server)
    client = as_role("owner")  # the merchant's staff and its dashboard row are on the primary only
    response, on_primary, on_replica = get(client, reverse("home"))
    assert on_replica > 0 and response.context["today"].today_transactions == 0


def test_a_lock_held_by_replay_sends_the_page_to_the_primary(replica_server, as_role, merchant):
    client = as_role("owner")
    server = embedded_db.ensure_server(Path(connection.settings_dict["DATA_DIR"]))
    dbname = connection.settings_dict["NAME"]
    with psycopg.connect(**server.login(), dbname=dbname) as primary:
        primary.execute("LOCK TABLE transactions IN ACCESS EXCLUSIVE MODE")  # replayed: the replica takes it too
        primary.execute("SELECT pg_switch_wal()")  # the lock's WAL record sent now
        with psycopg.connect(**replica_server.login(), dbname=dbname, autocommit=True) as standby:
            deadline = time.monotonic() + 10
            while not standby.execute(
                "SELECT count(*) FROM pg_locks WHERE relation = 'transactions'::regclass AND granted"
            ).fetchone()[0]:
                assert time.monotonic() < deadline
                time.sleep(0.05)
        with superuser(replica_server) as conn:
            conn.execute("SELECT pg_wal_replay_pause()")
    # committed on the primary; the replica, paused, holds the lock
    response, on_primary, on_replica = get(client, reverse("transactions"))
    assert on_replica > 0 and on_primary > 0


def test_a_lagging_replica_is_left_until_it_catches_up(replica_server, settings, as_role, merchant, program, customer):
    settings.DATABASE_REPLICA_MAX_LAG = 1
    client = as_role("owner")
    wait_replayed(replica_server)
    pause(replica_server)
    complete_sale(merchant=merchant, customer=customer)
    time.sleep(1.3)

    response, _, on_replica = get(client, reverse("home"))
    assert on_replica == 0 and response.context["today"].today_transactions == 1
    state = replica.health()
    assert not state.usable and "lags" in state.reason and state.lag_seconds > 1

    resume(replica_server)
    wait_replayed(replica_server)
    replica.reset()  # the process's last check (lagging) would otherwise stand for up to a second
    response, _, on_replica = get(client, reverse("home"))
    assert on_replica > 0 and response.context["today"].today_transactions == 1


def test_an_idle_primary_is_no_lag(replica_server, settings):
    settings.DATABASE_REPLICA_MAX_LAG = 0.5
    wait_replayed(replica_server)
    time.sleep(0.7)  # nothing written meanwhile: the last replayed commit grows old, the replica is not behind
    state = replica.health()
    assert state.usable and state.lag_seconds == 0


def test_pages_work_from_the_primary_while_the_replica_is_down(replica_server, settings, as_role, admin_client):
    data_dir = Path(connection.settings_dict["DATA_DIR"])
    client = as_role("owner")
    wait_replayed(replica_server)
    assert get(client, reverse("home"))[2] > 0
    settings.DATABASE_REPLICA_CHECK_SECONDS = 60  # the replica looked fine a moment ago...
    embedded_db.stop_replica(data_dir)  # ...and stops: the page fails on it mid-request and reruns on the primary
    response, on_primary, on_replica = get(client, reverse("home"))
    assert on_replica == 1 and on_primary > 0  # its first query failed on the replica
    for name in ("home", "transactions", "customers", "daily_analytics"):  # marked down: not tried again
        response, on_primary, on_replica = get(client, reverse(name))
        assert on_primary > 0 and on_replica == 0
    state = replica.health()
    assert not state.usable and state.reason.startswith("unreachable")

    page = admin_client.get(reverse("admin:operations_database_changelist")).content.decode()
    assert "read from the primary: unreachable" in page

    settings.DATABASE_REPLICA_RETRY_SECONDS = 0
    embedded_db.start_replica(data_dir)
    wait_replayed(replica_server)
    assert get(client, reverse("home"))[2] > 0
    page = admin_client.get(reverse("admin:operations_database_changelist")).content.decode()
    assert "read from the read replica" in page and embedded_db.REPLICA_NAME in page


def test_metrics_report_the_replicas_lag(replica_server, client, merchant, customer):
    def scrape() -> dict[str, float]:  # one scrape: its figures come from one reading of the primary
        text = client.get("/metrics").content.decode()
        names = ("loyalty_database_replica_lag_bytes", "loyalty_database_replica_lag_seconds")
        return {
            name: float(next(line.split()[-1] for line in text.splitlines() if line.startswith(name + "{")))
            for name in names
        }

    def metric(name):
        return scrape()[name]

    wait_replayed(replica_server)
    for _ in range(50):  # autovacuum or a checkpoint may write WAL between the wait and the scrape
        figures = scrape()
        if figures["loyalty_database_replica_lag_bytes"] == 0:
            break
        time.sleep(0.1)
    assert figures["loyalty_database_replica_lag_bytes"] == 0
    assert figures["loyalty_database_replica_lag_seconds"] == 0  # caught up: not the last lag it had
    pause(replica_server)
    complete_sale(merchant=merchant, customer=customer)
    time.sleep(0.3)  # the replica reports what it replayed at least every wal_receiver_status_interval
    assert metric("loyalty_database_replica_lag_bytes") > 0
