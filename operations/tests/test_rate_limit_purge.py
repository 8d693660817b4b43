"""The rate limits' hits older than a day are purged hourly, by the job and by its command, a batch per
transaction; a recent hit stays."""

import pytest
from django.core.management import call_command
from procrastinate.contrib.django import app

from operations import jobs
from system import ratelimit
from system.ratelimit import hit, rate_limit_purge
from system.testing import sql

pytestmark = pytest.mark.django_db(transaction=True)


def test_hits_older_than_a_day_are_purged_by_the_hourly_job_and_its_command(monkeypatch):
    for _ in range(3):
        hit(scope="join.address", key="203.0.113.7", limit=10, window_seconds=3600)
    sql(
        "UPDATE rate_limit_hits SET created_at = now() - interval '25 hours'"
        " WHERE id <> (SELECT max(id) FROM rate_limit_hits)"
    )
    monkeypatch.setattr(ratelimit, "PURGE_BATCH", 1)  # a batch per transaction

    jobs.purge_rate_limit_hits(0)
    assert sql("SELECT count(*) FROM rate_limit_hits") == [(1,)]
    call_command("purge_rate_limit_hits")  # twice: nothing more to do
    assert rate_limit_purge() == 0 and sql("SELECT count(*) FROM rate_limit_hits") == [(1,)]


def test_the_purge_is_hourly():
    [cron] = [p.cron for p in app.periodic_registry.periodic_tasks.values() if p.task is jobs.purge_rate_limit_hits]
    assert cron == "23 * * * *"
