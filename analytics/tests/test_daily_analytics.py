"""Daily analytics stay current without a hot row, and a rebuild gives the same rows."""

import threading
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db import connection

from analytics.models import CustomerSummary, MerchantDailyAnalytics, MerchantDailyAnalyticsDelta, MerchantDashboard
from customers.tests.factories import CustomerFactory
from loyalty.integrity import derived_state_errors
from loyalty.tests.factories import LoyaltyProgramFactory
from merchants.tests.factories import MerchantFactory
from system.testing import sql
from transactions.models import Transaction
from transactions.testing import complete_sale


@contextmanager
def another_session_holding_the_rollup_lock(merchant):
    locked, release = threading.Event(), threading.Event()

    def hold():
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_lock(2031, hashtext(%s))", [str(merchant.id)])
                locked.set()
                release.wait(10)
                cursor.execute("SELECT pg_advisory_unlock(2031, hashtext(%s))", [str(merchant.id)])
        finally:
            connection.close()

    thread = threading.Thread(target=hold)
    thread.start()
    assert locked.wait(10)
    try:
        yield
    finally:
        release.set()
        thread.join()


def day_rows(merchant):
    sql("SELECT rollup_merchant_daily_analytics(%s)", [merchant.id])
    return list(
        MerchantDailyAnalytics.objects.filter(merchant=merchant)
        .order_by("date")
        .values(
            "date",
            "total_sales",
            "total_transactions",
            "unique_customers",
            "new_customers",
            "points_issued",
            "points_redeemed",
            "points_reversed",
            "total_refunds",
            "refund_count",
            "average_transaction_value",
        )
    )


def test_a_sale_shows_in_todays_figures_at_once(merchant, program, customer):
    complete_sale(merchant=merchant, customer=customer, amount="12.50")

    dashboard = MerchantDashboard.objects.get(merchant=merchant)
    assert (dashboard.today_sales, dashboard.today_transactions, dashboard.today_customers) == (Decimal("12.50"), 1, 1)
    assert (dashboard.total_customers, dashboard.points_issued) == (1, 12)
    [row] = day_rows(merchant)
    assert (row["total_sales"], row["average_transaction_value"]) == (Decimal("12.50"), Decimal("12.50"))


def test_unique_and_new_customers_per_day(merchant, program):
    regular, newcomer = CustomerFactory(), CustomerFactory()
    yesterday = datetime.now(UTC) - timedelta(days=1)
    complete_sale(merchant=merchant, customer=regular, amount="5.00", completed_at=yesterday)
    complete_sale(merchant=merchant, customer=regular, amount="5.00")
    complete_sale(merchant=merchant, customer=regular, amount="5.00")
    complete_sale(merchant=merchant, customer=newcomer, amount="7.00")

    first, today = day_rows(merchant)
    assert (first["unique_customers"], first["new_customers"]) == (1, 1)
    assert (today["total_transactions"], today["unique_customers"], today["new_customers"]) == (3, 2, 1)
    assert today["average_transaction_value"] == Decimal("5.67")


def test_a_refund_counts_on_its_own_day_and_keeps_the_sale(merchant, program, customer):
    sale = complete_sale(
        merchant=merchant, customer=customer, amount="20.00", completed_at=datetime.now(UTC) - timedelta(days=3)
    )
    Transaction.objects.filter(pk=sale.pk).update(status="refunded")

    sale_day, refund_day = day_rows(merchant)
    assert (sale_day["total_sales"], sale_day["refund_count"]) == (Decimal("20.00"), 0)
    assert (refund_day["total_refunds"], refund_day["refund_count"], refund_day["points_reversed"]) == (
        Decimal("20.00"),
        1,
        20,
    )
    dashboard = MerchantDashboard.objects.get(merchant=merchant)
    assert dashboard.net_sales == Decimal("0.00")


def test_sales_append_deltas_that_the_rollup_folds_in(merchant, program, customer):
    with another_session_holding_the_rollup_lock(merchant):  # as if a sale elsewhere were rolling up
        complete_sale(merchant=merchant, customer=customer, amount="3.00")
        complete_sale(merchant=merchant, customer=customer, amount="4.00")
    assert MerchantDailyAnalyticsDelta.objects.filter(merchant=merchant).count() == 2
    assert MerchantDashboard.objects.get(merchant=merchant).today_sales == Decimal("7.00")  # the view adds them

    [row] = day_rows(merchant)
    assert row["total_sales"] == Decimal("7.00")
    assert not MerchantDailyAnalyticsDelta.objects.exists()


def test_rebuild_gives_the_same_rows_as_the_live_figures(db):
    merchants = [MerchantFactory(timezone="America/Los_Angeles"), MerchantFactory(timezone="Asia/Tokyo")]
    for merchant in merchants:
        LoyaltyProgramFactory(merchant=merchant, points_per_dollar=Decimal("2"))
    customers = CustomerFactory.create_batch(4)
    now = datetime.now(UTC)
    sales = []
    for i in range(24):  # newest first: each sale is earlier than the ones before it
        sales.append(
            complete_sale(
                merchant=merchants[i % 2],
                customer=customers[i % 4],
                amount=f"{5 + i}.25",
                completed_at=now - timedelta(hours=7 * i),
            )
        )
    for sale in sales[::5]:
        Transaction.objects.filter(pk=sale.pk).update(status="refunded")
    Transaction.objects.filter(pk=sales[3].pk).update(status="cancelled")
    live = {m.pk: day_rows(m) for m in merchants}

    call_command(
        "rebuild_analytics",
        "--from",
        str((now - timedelta(days=10)).date()),
        "--to",
        str((now + timedelta(days=2)).date()),
    )

    for merchant in merchants:
        assert day_rows(merchant) == live[merchant.pk]
    assert sum(len(rows) for rows in live.values()) > 4
    assert derived_state_errors() == []


def test_rebuild_repairs_a_broken_row(merchant, program, customer):
    complete_sale(merchant=merchant, customer=customer, amount="10.00")
    expected = day_rows(merchant)
    sql("UPDATE merchant_daily_analytics SET total_sales = 999 WHERE merchant_id = %s", [merchant.id])
    assert derived_state_errors()

    call_command("rebuild_analytics", "--merchant", merchant.merchant_code)

    assert day_rows(merchant) == expected


def test_dashboard_of_a_merchant_without_sales_is_zeros(merchant):
    dashboard = MerchantDashboard.objects.get(merchant=merchant)
    assert (dashboard.total_sales, dashboard.total_transactions, dashboard.today_sales) == (Decimal("0"), 0, 0)
    assert dashboard.first_sale_date is None


def test_customer_summary_shows_this_merchants_figures_only(merchant, program, customer):
    other = MerchantFactory()
    complete_sale(merchant=merchant, customer=customer, amount="10.00")
    complete_sale(merchant=merchant, customer=customer, amount="20.00")
    complete_sale(merchant=other, customer=customer, amount="500.00")

    summary = CustomerSummary.objects.get(customer=customer, merchant=merchant)
    assert (summary.total_spent, summary.total_transactions, summary.current_points) == (Decimal("30.00"), 2, 30)
    assert (summary.transactions_last_30_days, summary.spent_last_30_days) == (2, Decimal("30.00"))
    assert (summary.average_transaction_value, summary.loyalty_status) == (Decimal("15.00"), "active")
    assert summary.customer_code == customer.customer_code


@pytest.mark.django_db(transaction=True)
def test_rebuilding_while_sales_complete_counts_every_sale_once(merchant, program):
    customers = CustomerFactory.create_batch(4)
    done = threading.Event()

    def tills():
        try:
            for i in range(40):
                complete_sale(merchant=merchant, customer=customers[i % 4], amount="2.50")
        finally:
            done.set()
            connection.close()

    def rebuilder():
        try:
            while not done.is_set():
                with connection.cursor() as cursor:
                    cursor.execute(
                        "SELECT rebuild_merchant_daily_analytics(current_date - 1, current_date + 1, %s)", [merchant.pk]
                    )
        finally:
            connection.close()

    threads = [threading.Thread(target=tills), threading.Thread(target=rebuilder)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    [row] = day_rows(merchant)
    assert (row["total_sales"], row["total_transactions"], row["unique_customers"]) == (Decimal("100.00"), 40, 4)
    assert derived_state_errors() == []
