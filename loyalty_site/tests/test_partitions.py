"""audit_logs and qr_scan_logs as month partitions: the conversion (system 0016, 0017) keeps every row both
ways, with the ledger checks passing, and the admin's month lists read one partition."""

import json
from datetime import UTC, datetime

import pytest
from django.contrib import admin
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.test import RequestFactory
from django.urls import reverse

from loyalty.integrity import derived_state_errors
from merchants.tests.factories import UserFactory
from system.models import AuditLog, QRScanLog
from system.partitions import PARTITIONED
from system.testing import drop_old_partitions, month_partitions, relations_read, sql
from transactions.testing import complete_sale

PLAIN = ("system", "0015_database_roles")
OLD = datetime(2024, 5, 10, 9, 30, tzinfo=UTC)


def migrate(target):
    executor = MigrationExecutor(connection)
    executor.migrate(target)


def latest():
    return MigrationExecutor(connection).loader.graph.leaf_nodes()


def rows() -> dict[str, list[str]]:
    return {
        table: [text for (text,) in sql(f"SELECT to_jsonb(t)::text FROM {table} t ORDER BY created_at, id")]
        for table in PARTITIONED
    }


def partitioned(table: str) -> bool:
    return sql("SELECT relkind FROM pg_class WHERE oid = %s::regclass", [table]) == [("p",)]


@pytest.mark.django_db(transaction=True)
def test_the_logs_become_plain_tables_and_partitioned_again_with_every_row(merchant, program, customer):
    sales = [complete_sale(merchant=merchant, customer=customer, amount=amount) for amount in ("12.00", "30.50")]
    for sale in sales:
        sql(
            "INSERT INTO qr_scan_logs (merchant_id, customer_id, scanned_code, scan_result, sale_id) "
            "VALUES (%s, %s, %s, 'success', %s)",
            [merchant.pk, customer.pk, customer.customer_code, sale.pk],
        )
    sql(  # history from before the partitions: it gets its month's partition
        "INSERT INTO qr_scan_logs (merchant_id, scanned_code, scan_result, created_at) "
        "VALUES (%s, 'X', 'malformed', %s)",
        [merchant.pk, OLD],
    )
    sql(
        "INSERT INTO audit_logs (table_name, record_id, action, created_at) VALUES ('merchants', %s, 'UPDATE', %s)",
        [merchant.pk, OLD],
    )
    before = rows()
    assert len(before["audit_logs"]) > 5 and len(before["qr_scan_logs"]) == 3
    try:
        migrate([PLAIN])
        assert not any(partitioned(table) for table in PARTITIONED)
        assert rows() == before
        assert sql("SELECT count(*) FROM pg_constraint WHERE conname = 'qr_scan_logs_sale_id_key'") == [(1,)]
        assert derived_state_errors(ledger=True) == []

        migrate(latest())
        assert all(partitioned(table) for table in PARTITIONED)
        assert rows() == before
        assert sql("SELECT count(*) FROM audit_logs_p2024_05") == [(1,)]
        assert sql("SELECT count(*) FROM qr_scan_logs_p2024_05") == [(1,)]
        assert sql("SELECT count(*) FROM qr_scan_logs_default") == [(0,)]
        assert sorted(sql("SELECT sale_id FROM qr_scan_sales")) == sorted((s.pk,) for s in sales)
        assert derived_state_errors(ledger=True) == []
        # The old names hold: the parent's indexes, constraints and NOT NULL constraints.
        names = {name for (name,) in sql("SELECT conname FROM pg_constraint WHERE conrelid = 'audit_logs'::regclass")}
        assert {"audit_logs_pkey", "audit_logs_action_valid", "audit_logs_id_not_null"} <= names
        indexes = {
            name
            for (name,) in sql(
                "SELECT indexrelid::regclass::text FROM pg_index WHERE indrelid = 'qr_scan_logs'::regclass"
            )
        }
        assert {"qr_scan_logs_merchant_idx", "qr_scan_logs_identifies_idx", "qr_scan_logs_sale_idx"} <= indexes
        # A sale after the conversion is logged as before.
        complete_sale(merchant=merchant, customer=customer, amount="5.00")
        assert len(rows()["audit_logs"]) > len(before["audit_logs"])
        assert derived_state_errors(ledger=True) == []
    finally:
        migrate(latest())
        drop_old_partitions()


def changelist_partitions(model, query: dict) -> set[str]:
    """The partitions the admin's list of `model`, filtered by `query`, reads."""
    request = RequestFactory().get("/", query)
    request.user = UserFactory(is_staff=True, is_superuser=True)
    model_admin = admin.site._registry[model]
    changelist = model_admin.get_changelist_instance(request)
    statement, params = changelist.get_queryset(request)[:100].query.sql_with_params()
    return {name for name in relations_read(statement, params) if name.startswith(model._meta.db_table + "_")}


@pytest.mark.django_db
@pytest.mark.parametrize("model", [AuditLog, QRScanLog])
def test_a_months_list_in_the_admin_reads_that_months_partition_only(model, merchant):
    table = model._meta.db_table
    sql("SELECT create_log_partitions(%s, '2025-01-01', 3)", [table])
    month = datetime(2025, 6, 1, tzinfo=UTC)
    assert changelist_partitions(model, {"month": "2025-06"}) == month_partitions(table, month, month)
    assert changelist_partitions(model, {"month": "2025-06", "merchant": str(merchant.pk)}) == month_partitions(
        table, month, month
    )
    now = datetime.now(UTC)  # "This month" of the date filter
    following = now.replace(day=1, year=now.year + now.month // 12, month=now.month % 12 + 1)
    this_month = {
        "created_at__gte": now.strftime("%Y-%m-01 00:00:00+00:00"),
        "created_at__lt": following.strftime("%Y-%m-01 00:00:00+00:00"),
    }
    assert changelist_partitions(model, this_month) == month_partitions(table, now, now)


@pytest.mark.django_db
def test_the_month_filter_lists_the_calendar_and_a_bad_month_shows_nothing(admin_client):
    url = reverse("admin:system_auditlog_changelist")
    page = admin_client.get(url, {"month": "2025-06"})
    assert page.status_code == 200
    assert admin_client.get(url, {"month": "June"}).status_code == 200
    months = json.dumps(datetime.now(UTC).strftime("%Y-%m"))
    assert months.strip('"') in admin_client.get(url).content.decode()


@pytest.mark.django_db
def test_a_long_list_shows_the_planners_estimate_and_a_short_one_its_exact_count(admin_client, monkeypatch):
    from system.admin import EstimatedCountPaginator

    sql("SELECT create_log_partitions('audit_logs', '2025-06-01', 0)")
    sql(
        "INSERT INTO audit_logs (table_name, record_id, action, created_at) "
        "SELECT 'history', gen_random_uuid(), 'INSERT', '2025-06-02'::timestamptz + g * interval '1 minute' "
        "FROM generate_series(1, 30) g"
    )
    sql("ANALYZE audit_logs")  # autovacuum's figures, as a live log has them
    url = reverse("admin:system_auditlog_changelist")
    page = admin_client.get(url, {"month": "2025-06"}).content.decode()
    assert "30 audit logs" in page and "about" not in page.split('class="paginator"')[1]

    monkeypatch.setattr(EstimatedCountPaginator, "EXACT_COUNT_UP_TO", 5)
    page = admin_client.get(url, {"month": "2025-06"}).content.decode()
    counted = page.split('class="paginator"')[1].split("</p>")[0]
    assert "about" in counted and "audit logs" in counted
    assert int(counted.split("about")[1].split()[0].replace(",", "")) > 5  # the planner's figure, not a count
    past = admin_client.get(url, {"month": "2025-06", "p": 4})  # past the estimated pages: a page, not the
    assert past.status_code == 200  # redirect to "?e=1" an invalid page gets
