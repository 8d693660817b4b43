"""The background jobs with a real worker on the test database: a recurring job runs once per time
however many workers queue it, expiry comes at each merchant's local midnight, a worker killed mid-job
loses nothing, the jobs are safe twice and beside sales, and the worker and launcher start and stop."""

import asyncio
import os
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import quote
from zoneinfo import ZoneInfo

import psycopg
import pytest
from django.core.management import call_command
from django.db import connection
from procrastinate.contrib.django import app
from procrastinate.contrib.django.utils import connector_params
from procrastinate.exceptions import AlreadyEnqueued
from procrastinate.periodic import PeriodicDeferrer

from customers.tests.factories import CustomerFactory
from loyalty.integrity import derived_state_errors, ledger_errors
from loyalty.models import PointsLot, PointsTransaction
from loyalty.testing import account_of
from loyalty.tests.factories import LoyaltyProgramFactory
from merchants.tests.factories import MerchantFactory
from operations import jobs
from system.partitions import partitions_ahead
from system.testing import clear_jobs, drop_months_ahead_beyond, run_jobs, sql
from transactions.testing import complete_sale

pytestmark = pytest.mark.django_db(transaction=True)
ROOT = Path(__file__).resolve().parent.parent.parent


@pytest.fixture(autouse=True)
def no_jobs_left():
    clear_jobs()


def job(job_id) -> tuple[str, int]:
    return sql("SELECT status, attempts FROM procrastinate_jobs WHERE id = %s", [job_id])[0]


def database_url() -> str:
    params = connector_params()
    login = f"{params['user']}:{quote(params.get('password', ''), safe='')}"
    return f"postgres://{login}@/{params['dbname']}?host={params['host']}&port={params['port']}"


def manage(*args, **env) -> subprocess.Popen:
    """A manage.py command on the test database, in its own process group."""
    return subprocess.Popen(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": database_url(), "WORKER_RECURRING": "0", **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )


def wait_for(condition, seconds=60.0):
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def test_a_recurring_job_queued_twice_for_the_same_time_runs_once():
    periodic = app.periodic_registry.periodic_tasks[("operations.purge_idempotency_keys", "")]
    timestamp = 1_700_000_000

    async def two_workers_queue_it():
        async with app.open_async():
            deferrers = [PeriodicDeferrer(registry=app.periodic_registry) for _ in range(2)]
            await asyncio.gather(*(d.defer_jobs([(periodic, timestamp)]) for d in deferrers))

    def queue_it():
        with app.replace_connector(app.connector.get_worker_connector()):
            asyncio.run(two_workers_queue_it())

    queue_it()
    run_jobs()
    queue_it()  # once more, after it ran
    run_jobs()

    runs = sql(
        "SELECT status FROM procrastinate_jobs WHERE task_name = 'operations.purge_idempotency_keys' "
        "AND (args->>'timestamp')::bigint = %s",
        [timestamp],
    )
    assert runs == [("succeeded",)]


def lot_due_at(merchant, due_at):
    customer = CustomerFactory()
    complete_sale(merchant=merchant, customer=customer, amount="50.00")
    lot = PointsLot.objects.get(customer_loyalty_account=account_of(customer, merchant))
    PointsLot.objects.filter(pk=lot.pk).update(expires_at=due_at)
    return lot


def test_points_expire_at_each_merchants_local_midnight():
    now = datetime.now(ZoneInfo("UTC"))
    lots = {}
    for zone in ("Pacific/Auckland", "America/Los_Angeles"):
        merchant = MerchantFactory(timezone=zone)
        LoyaltyProgramFactory(merchant=merchant, points_expiry_days=365)
        midnight = now.astimezone(ZoneInfo(zone)).replace(hour=0, minute=0, second=0, microsecond=0)
        lots[zone, "before midnight"] = lot_due_at(merchant, midnight - timedelta(minutes=1))
        lots[zone, "since midnight"] = lot_due_at(merchant, midnight + (now - midnight) / 2)  # due, day not over

    jobs.expire_points.defer(timestamp=0)
    run_jobs()
    call_command("expire_points", "--local-midnight", stdout=open(os.devnull, "w"))  # noqa: SIM115  cron, again

    expired = {
        key: PointsTransaction.objects.filter(lot=lot, transaction_type="expire").count() for key, lot in lots.items()
    }
    assert expired == {
        ("Pacific/Auckland", "before midnight"): 1,
        ("Pacific/Auckland", "since midnight"): 0,
        ("America/Los_Angeles", "before midnight"): 1,
        ("America/Los_Angeles", "since midnight"): 0,
    }
    assert ledger_errors() == []


def test_a_worker_killed_mid_job_loses_nothing(settings):
    settings.PROCRASTINATE_WORKER_DEFAULTS = {**settings.PROCRASTINATE_WORKER_DEFAULTS, "stalled_worker_timeout": 3}
    merchant = MerchantFactory(timezone="Europe/Paris")
    LoyaltyProgramFactory(merchant=merchant, points_expiry_days=365)
    lot = lot_due_at(merchant, datetime.now(ZoneInfo("UTC")) - timedelta(days=2))
    job_id = jobs.expire_points.defer(timestamp=0)
    # Another session holds the customer's account: the job's expiry waits for it, mid-job.
    holder = psycopg.connect(**connector_params())
    holder.execute(
        "SELECT 1 FROM customer_loyalty_accounts WHERE id = %s FOR UPDATE", [lot.customer_loyalty_account_id]
    )
    worker = manage("worker", WORKER_HEARTBEAT_SECONDS="1", WORKER_STALLED_SECONDS="3")
    try:
        wait_for(lambda: job(job_id)[0] == "doing")
        wait_for(lambda: sql("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'")[0][0] > 0)
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait(timeout=10)
    finally:
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGKILL)
        worker.stdout.close()
        holder.rollback()
        holder.close()
    assert job(job_id)[0] == "doing"  # as the dead worker left it

    time.sleep(4)  # its heartbeat is now older than WORKER_STALLED_SECONDS
    try:
        jobs.retry_stalled_jobs.defer(timestamp=0)
    except AlreadyEnqueued:
        pass  # the dead worker had queued one already
    run_jobs()  # another worker: requeues the stalled job and runs it
    run_jobs()

    assert job(job_id)[0] == "succeeded"
    assert PointsTransaction.objects.filter(lot=lot, transaction_type="expire").count() == 1
    assert ledger_errors() == []


def test_a_dead_workers_job_whose_twin_waits_is_failed_and_the_twin_does_the_work():
    merchant = MerchantFactory(timezone="Asia/Tokyo")
    LoyaltyProgramFactory(merchant=merchant, points_expiry_days=365)
    lot = lot_due_at(merchant, datetime.now(ZoneInfo("UTC")) - timedelta(days=2))
    locked = jobs.expire_points.configure(queueing_lock="expire_points")  # as the backups' and maintenance's jobs
    stalled = locked.defer(timestamp=0)
    # A worker takes it, as a worker does, then dies: its heartbeat stops.
    [(worker_id,)] = sql("SELECT procrastinate_register_worker_v1()")
    sql("SELECT procrastinate_fetch_job_v2(NULL, %s)", [worker_id])
    sql("UPDATE procrastinate_workers SET last_heartbeat = now() - interval '1 hour' WHERE id = %s", [worker_id])
    # Its twin waits under the same queueing lock (here: to be tried again in an hour).
    twin = jobs.expire_points.configure(queueing_lock="expire_points", schedule_in={"hours": 1}).defer(timestamp=900)

    jobs.retry_stalled_jobs.defer(timestamp=0)
    run_jobs()
    assert (job(stalled)[0], job(twin)[0]) == ("failed", "todo")
    sql("UPDATE procrastinate_jobs SET scheduled_at = now() WHERE id = %s", [twin])  # the hour passes
    run_jobs()

    assert job(twin)[0] == "succeeded"
    assert PointsTransaction.objects.filter(lot=lot, transaction_type="expire").count() == 1


def in_thread(work):
    def run(*args):
        try:
            return work(*args)
        finally:
            connection.close()

    return run


def test_the_jobs_are_safe_to_run_twice_and_while_sales_complete():
    merchants = [MerchantFactory(timezone=zone) for zone in ("Asia/Kolkata", "America/New_York")]
    customers = [CustomerFactory() for _ in range(6)]
    for merchant in merchants:
        LoyaltyProgramFactory(merchant=merchant, points_expiry_days=365)
        for customer in customers:
            complete_sale(merchant=merchant, customer=customer, amount="30.00")
    sql("UPDATE points_lots SET expires_at = now() - interval '3 days'")
    queued = [
        task.defer(timestamp=0)
        for task in (jobs.expire_points, jobs.fold_analytics, jobs.rebuild_analytics, jobs.purge_idempotency_keys)
    ]
    start = threading.Barrier(4)

    @in_thread
    def sales(merchant):
        start.wait()
        for customer in customers:
            for _ in range(3):
                complete_sale(merchant=merchant, customer=customer, amount="12.50")

    @in_thread
    def worker():
        start.wait()
        run_jobs()

    @in_thread
    def cron():
        start.wait()
        for args in (["expire_points", "--local-midnight"], ["rebuild_analytics", "--recent"]):
            call_command(*args, stdout=open(os.devnull, "w"))  # noqa: SIM115

    with ThreadPoolExecutor(4) as pool:
        for result in [
            pool.submit(sales, merchants[0]),
            pool.submit(sales, merchants[1]),
            pool.submit(worker),
            pool.submit(cron),
        ]:
            result.result()

    assert [job(job_id)[0] for job_id in queued] == ["succeeded"] * 4
    assert sql("SELECT DISTINCT status FROM procrastinate_jobs") == [("succeeded",)]
    expiries = PointsTransaction.objects.filter(transaction_type="expire")
    assert expiries.count() == expiries.values("lot").distinct().count() == 12
    call_command("rebuild_analytics", "--pending", stdout=open(os.devnull, "w"))  # noqa: SIM115
    assert derived_state_errors() == []


def test_the_worker_says_it_started_and_stops_cleanly_on_sigterm():
    clear_jobs()  # a job left by another test would be finished first, however long it takes
    worker = manage("worker")
    try:
        line = worker.stdout.readline()
        assert line.startswith("Job worker started") and "every queue" in line
        os.killpg(worker.pid, signal.SIGTERM)
        assert worker.wait(timeout=30) == 0
        assert "Job worker stopped." in worker.stdout.read()
    finally:
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGKILL)
        worker.stdout.close()


def launcher(*web_command) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "operations.launcher", *web_command],
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": database_url(), "WORKER_RECURRING": "0"},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def workers_alive() -> int:
    return sql("SELECT count(*) FROM procrastinate_workers")[0][0]


def test_the_launcher_starts_web_and_worker_and_ctrl_c_stops_both():
    run = launcher(sys.executable, "-c", "import time; time.sleep(120)")
    try:
        wait_for(lambda: workers_alive() == 1)
        run.send_signal(signal.SIGINT)
        assert run.wait(timeout=60) == 0
        assert workers_alive() == 0  # the worker stopped cleanly: it removed its heartbeat
    finally:
        if run.poll() is None:
            run.kill()
        run.stdout.close()


def test_the_launcher_stops_the_worker_when_the_web_server_dies():
    run = launcher(sys.executable, "-c", "import time, sys; time.sleep(8); sys.exit(3)")
    try:
        wait_for(lambda: workers_alive() == 1)
        assert run.wait(timeout=60) == 3
        assert "The web server stopped (status 3)" in run.stdout.read()
        assert workers_alive() == 0
    finally:
        if run.poll() is None:
            run.kill()
        run.stdout.close()


def test_finished_jobs_are_removed_after_jobs_keep_days_and_failed_ones_stay(settings):
    old_done, old_failed, recent_done = (jobs.purge_idempotency_keys.defer(timestamp=t) for t in (1, 2, 3))
    run_jobs()
    sql("UPDATE procrastinate_jobs SET status = 'failed' WHERE id = %s", [old_failed])  # as if its last try failed
    sql(
        "UPDATE procrastinate_events SET at = now() - make_interval(days => %s) WHERE job_id IN (%s, %s)",
        [settings.JOBS_KEEP_DAYS + 1, old_done, old_failed],
    )

    jobs.remove_old_jobs.defer(timestamp=0)
    run_jobs()

    left = {job_id for (job_id,) in sql("SELECT id FROM procrastinate_jobs")}
    assert old_done not in left and {old_failed, recent_done} <= left


def test_the_remove_old_jobs_command_removes_what_the_job_does(settings):
    old_done, old_failed, recent_done = (jobs.purge_idempotency_keys.defer(timestamp=t) for t in (1, 2, 3))
    run_jobs()
    sql("UPDATE procrastinate_jobs SET status = 'failed' WHERE id = %s", [old_failed])
    sql(
        "UPDATE procrastinate_events SET at = now() - make_interval(days => %s) WHERE job_id IN (%s, %s)",
        [settings.JOBS_KEEP_DAYS + 1, old_done, old_failed],
    )
    with open(os.devnull, "w") as quiet:
        call_command("remove_old_jobs", stdout=quiet)
    left = {job_id for (job_id,) in sql("SELECT id FROM procrastinate_jobs")}
    assert old_done not in left and {old_failed, recent_done} <= left
    assert sql("SELECT count(*) FROM procrastinate_events WHERE job_id = %s", [old_done]) == [(0,)]


def test_the_partitions_job_keeps_the_months_ahead_of_the_setting(settings):
    settings.PARTITIONS_AHEAD_MONTHS = 5
    try:
        jobs.create_partitions.defer(timestamp=0)
        run_jobs()
        assert partitions_ahead() == {"audit_logs": 5, "qr_scan_logs": 5}
    finally:
        drop_months_ahead_beyond(3)
    assert partitions_ahead() == {"audit_logs": 3, "qr_scan_logs": 3}
