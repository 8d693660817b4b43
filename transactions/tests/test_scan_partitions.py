"""Every counter statement on qr_scan_logs (partitioned by month) reads the recent partitions only: EXPLAIN, in
JSON, names the partitions a plan reads, with two years of months and the months ahead present."""

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from system.testing import month_partitions, relations_read, sql
from transactions import selectors
from transactions.services import checkout, scan

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def two_years_of_months():
    start = timezone.now() - timedelta(days=730)
    sql("SELECT create_log_partitions('qr_scan_logs', %s, 3)", [start.date()])


def scan_partitions(relations: set[str]) -> set[str]:
    """The partitions read (an UPDATE's plan also names the parent it writes through)."""
    return {name for name in relations if name.startswith("qr_scan_logs_")}


def recent(start, end) -> set[str]:
    return month_partitions("qr_scan_logs", start, end)


def test_taking_a_scan_for_a_sale_and_giving_it_back_read_the_recent_months_only(merchant):
    now = timezone.now()
    times = {"from": now - timedelta(minutes=10) - selectors.SCAN_SLACK, "to": now + selectors.SCAN_SLACK}
    params = {
        "sale": uuid.uuid4(),
        "scan": uuid.uuid4(),
        "customer": uuid.uuid4(),
        "merchant": merchant.pk,
        "user": uuid.uuid4(),
        "minutes": 10,
        **times,
    }
    read = scan_partitions(relations_read(checkout._TAKE_SCAN_SQL, params))
    assert read and read <= recent(times["from"], times["to"]), read
    read = scan_partitions(relations_read(checkout._GIVE_BACK_SQL, {"scan": uuid.uuid4(), **times}))
    assert read and read <= recent(times["from"], times["to"]), read


def test_the_scan_rate_limits_read_the_recent_months_only(merchant):
    since, until = timezone.now() - timedelta(minutes=40), selectors._scans_until()
    params = {"merchant": merchant.pk, "user": uuid.uuid4(), "ip": "203.0.113.9", "since": since, "until": until}
    read = scan_partitions(relations_read(selectors._FAILED_SCANS_SQL, params))
    assert read and read <= recent(since, until), read
    read = scan_partitions(relations_read(selectors._FAILED_SCANS_HERE_SQL, params))
    assert read and read <= recent(since, until), read


def test_the_scan_for_a_checkout_form_reads_the_recent_months_only(merchant):
    queryset = selectors.checkout_scans(merchant=merchant, user=None, scan_id=uuid.uuid4(), minutes=10)
    statement, params = queryset.query.sql_with_params()
    read = scan_partitions(relations_read(statement, params))
    assert read and read <= recent(timezone.now() - timedelta(minutes=10), selectors._scans_until()), read


def test_logging_a_scan_reads_no_partition(merchant):
    params = {
        "merchant": merchant.pk,
        "user": None,
        "code": "X",
        "result": "malformed",
        "customer": None,
        "ip": None,
        "user_agent": "",
    }
    assert relations_read(scan._LOG_SCAN_SQL, params) == {"qr_scan_logs"}
