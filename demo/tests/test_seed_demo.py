"""The demo data: consistent with the rules, and what the schema document's sample queries return."""

from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connection

from demo.management.commands.seed_demo import DEMO_PASSWORD
from loyalty.integrity import derived_state_errors
from merchants.models import Merchant, MerchantStaff, User
from system.testing import sql


@pytest.fixture
def demo(db):
    call_command("seed_demo", merchants=4, customers=60, transactions=1500, verbosity=0)
    return Merchant.objects.get(business_email="hello@beanthere.demo")


def test_the_demo_agrees_with_what_the_triggers_would_have_written(demo):
    assert derived_state_errors() == []


def test_the_demo_has_merchants_in_several_time_zones_with_programs(demo):
    zones = set(Merchant.objects.values_list("timezone", flat=True))
    assert len(zones) == 4
    assert all(m.loyalty_programs.filter(is_active=True).exists() for m in Merchant.objects.all())


def test_the_demo_logins_work(demo):
    owner, cashier, admin = (User.objects.get(email=f"{who}@demo.test") for who in ("owner", "cashier", "admin"))
    assert all(user.check_password(DEMO_PASSWORD) for user in (owner, cashier, admin))
    assert MerchantStaff.objects.get(user=owner).merchant == demo
    assert MerchantStaff.objects.get(user=cashier).role == "cashier"
    assert admin.is_superuser and not owner.is_staff


def test_seeding_again_with_if_empty_changes_nothing(demo):
    before = sql("SELECT count(*) FROM transactions")
    call_command("seed_demo", if_empty=True, verbosity=0)
    assert sql("SELECT count(*) FROM transactions") == before


def sample_queries(merchant) -> list[str]:
    lines = (Path(__file__).parent / "sample_queries.sql").read_text().splitlines(keepends=True)
    text = "".join(line for line in lines if not line.startswith("--"))
    queries = [q.strip() + ";" for q in text.split(";") if q.strip()]
    assert len(queries) == 4
    return [q.replace("merchant-uuid", str(merchant.id)) for q in queries]


def columns_and_rows(query: str) -> tuple[list[str], list[tuple]]:
    with connection.cursor() as cursor:
        cursor.execute(query)
        return [c.name for c in cursor.description], cursor.fetchall()


def test_sample_query_merchant_dashboard_data(demo):
    names, rows = columns_and_rows(sample_queries(demo)[0])
    assert len(rows) == 1
    dashboard = dict(zip(names, rows[0], strict=True))
    assert dashboard["total_sales"] > 0 and dashboard["total_transactions"] > 0


def test_sample_query_recent_transactions(demo):
    names, rows = columns_and_rows(sample_queries(demo)[1])
    assert len(rows) == 10
    created = [row[names.index("created_at")] for row in rows]
    assert created == sorted(created, reverse=True)
    assert all(row[names.index("first_name")] for row in rows)


def test_sample_query_customer_loyalty_status(demo):
    names, rows = columns_and_rows(sample_queries(demo)[2])
    assert len(rows) == demo.loyalty_accounts.count() > 0
    points = [row[names.index("current_points")] for row in rows]
    assert points == sorted(points, reverse=True) and points[0] > 0


def test_sample_query_daily_analytics(demo):
    names, rows = columns_and_rows(sample_queries(demo)[3])
    assert 20 <= len(rows) <= 32
    assert sum(row[names.index("total_transactions")] for row in rows) > 0


def test_every_loaded_row_has_the_audit_history_the_trigger_would_have_written(demo):
    from system.models import AuditLog
    from transactions.models import Transaction

    refunded = Transaction.objects.filter(merchant=demo, status="refunded").first()
    [recorded, changed] = AuditLog.objects.filter(record_id=refunded.pk).order_by("created_at")
    assert (recorded.action, recorded.new_values["status"], recorded.new_values["refunded_at"]) == (
        "INSERT",
        "completed",
        None,
    )
    assert (changed.action, changed.old_values["status"], changed.new_values["status"]) == (
        "UPDATE",
        "completed",
        "refunded",
    )
    assert changed.changed_fields == ["points_reversed", "refunded_at", "status"]
    assert AuditLog.objects.filter(table_name="transactions", action="INSERT").count() == Transaction.objects.count()
    assert AuditLog.objects.filter(table_name="customers").count() == 60


def test_the_ledger_of_the_demo_reads_like_the_triggers_ledger(demo):
    from loyalty.models import PointsTransaction

    earn = PointsTransaction.objects.filter(transaction_type="earn", transaction__merchant=demo).first()
    assert earn.description == f"Earned on a purchase of {earn.transaction.amount} USD"
    reverse = PointsTransaction.objects.filter(transaction_type="reverse", transaction__merchant=demo).first()
    assert reverse.description == f"Taken back: purchase {reverse.transaction.status}"


def test_busy_merchant_sales_go_to_the_last_merchant_from_every_customer(db):
    call_command("seed_demo", merchants=5, customers=40, transactions=1000, busy_merchant_sales=600, verbosity=0)

    busy = Merchant.objects.get(business_email="shop5@merchants.demo")
    assert busy.transactions.count() >= 600
    assert busy.transactions.values("customer").distinct().count() > 30
    assert derived_state_errors(limit=5) == []
