"""Retention: scans older than privacy.scan_log_days lose their address and browser, a batch per transaction,
found through a partial index of the rows still holding them; recent scans keep them; expired sessions go.
The daily job and its command are safe to run twice."""

from datetime import timedelta

import pytest
from django.contrib.sessions.models import Session
from django.core.management import call_command
from django.utils import timezone
from procrastinate.contrib.django import app

from operations import jobs
from system import retention
from system.models import QRScanLog
from system.settings_store import setting_set
from system.testing import sql

pytestmark = pytest.mark.django_db(transaction=True)


def scan_aged(merchant, days: float, *, ip="203.0.113.9", agent="Mozilla/5.0 (counter)") -> QRScanLog:
    # Written with its age: an UPDATE of created_at would move the row to another month's partition, which the
    # log's append-only trigger refuses (a DELETE and an INSERT).
    return QRScanLog.objects.create(
        merchant=merchant,
        scanned_code="ABCD1234",
        scan_result="malformed",
        ip_address=ip,
        user_agent=agent,
        created_at=timezone.now() - timedelta(days=days),
    )


def identifiers(rows) -> list[tuple]:
    return [tuple(QRScanLog.objects.filter(pk=r.pk).values_list("ip_address", "user_agent").get()) for r in rows]


def test_old_scans_lose_address_and_browser_and_recent_ones_keep_them(merchant, monkeypatch):
    monkeypatch.setattr(retention, "BATCH_SIZE", 2)  # several batches, each its own transaction
    old = [scan_aged(merchant, 91 + n) for n in range(5)] + [scan_aged(merchant, 100, ip=None)]
    only_agent = scan_aged(merchant, 95, ip=None, agent="curl/8")
    recent = [scan_aged(merchant, 89), scan_aged(merchant, 0)]

    assert jobs.retention_apply() == 7

    assert identifiers([*old, only_agent]) == [(None, "")] * 7
    assert identifiers(recent) == [("203.0.113.9", "Mozilla/5.0 (counter)")] * 2
    kept = QRScanLog.objects.get(pk=old[0].pk)
    assert (kept.scanned_code, kept.scan_result, kept.merchant_id) == ("ABCD1234", "malformed", merchant.pk)

    # idempotent: nothing more to do, by the job or the command
    assert jobs.retention_apply() == 0
    call_command("apply_retention")
    assert identifiers(recent) == [("203.0.113.9", "Mozilla/5.0 (counter)")] * 2


def test_the_days_kept_are_the_platform_setting(merchant):
    row = scan_aged(merchant, 31)
    setting_set(key="privacy.scan_log_days", value="30")
    jobs.apply_retention(0)
    assert identifiers([row]) == [(None, "")]


def test_expired_sessions_are_cleared(merchant):
    now = timezone.now()
    Session.objects.create(session_key="expired" + "x" * 25, session_data="e30", expire_date=now - timedelta(days=1))
    Session.objects.create(session_key="current" + "x" * 25, session_data="e30", expire_date=now + timedelta(days=1))
    call_command("apply_retention")
    assert list(Session.objects.values_list("session_key", flat=True)) == ["current" + "x" * 25]


def test_a_batch_reads_only_the_rows_still_holding_an_address_through_the_partial_index():
    sql("SET enable_seqscan = off")  # a tiny test table: show that the index can serve the query
    try:
        plan = "\n".join(
            line
            for (line,) in sql(
                "EXPLAIN " + retention._FORGET_SQL.replace("%(days)s", "90").replace("%(batch)s", "5000")
            )
        )
    finally:
        sql("RESET enable_seqscan")
    assert "qr_scan_logs_identifies_idx" in plan


def test_the_job_runs_daily():
    [cron] = [p.cron for p in app.periodic_registry.periodic_tasks.values() if p.task is jobs.apply_retention]
    assert cron == "10 4 * * *"
