"""A completed sale moves every figure kept from it, visits included; a visit is on the merchant's local day
(the sale rules' other tests: transactions/tests/test_database_rules.py)."""

from datetime import UTC, date, datetime
from decimal import Decimal

from analytics.models import CustomerVisit
from customers.models import Customer
from loyalty.testing import account_of
from merchants.tests.factories import MerchantFactory
from system.testing import sql
from transactions.testing import complete_sale


def test_completed_sale_awards_points_and_moves_totals(merchant, program, customer):
    sale = complete_sale(merchant=merchant, customer=customer, amount="23.50")

    assert sale.points_earned == 23
    assert sale.points_rate == Decimal("1.0000")
    assert sale.currency == "USD"
    assert sale.completed_at is not None
    customer.refresh_from_db()
    assert customer.total_spent == Decimal("23.50")
    assert customer.total_transactions == 1
    assert customer.last_visit_at == sale.completed_at
    account = account_of(customer, merchant)
    assert account.loyalty_program == program
    assert (account.current_points, account.total_points_earned, account.total_spent) == (23, 23, Decimal("23.50"))
    [earn] = account.ledger.all()
    assert (earn.transaction_type, earn.points_change, earn.balance_after, earn.transaction_id) == (
        "earn",
        23,
        23,
        sale.id,
    )
    visit = CustomerVisit.objects.get(customer=customer, merchant=merchant)
    assert (visit.visit_count, visit.total_spent) == (1, Decimal("23.50"))


def test_a_late_evening_sale_belongs_to_the_merchants_local_day(db, customer):
    merchant = MerchantFactory(timezone="America/New_York")
    # 2026-03-10 03:30 UTC is 23:30 on March 9 in New York.
    complete_sale(
        merchant=merchant, customer=customer, amount="8.00", completed_at=datetime(2026, 3, 10, 3, 30, tzinfo=UTC)
    )

    visit = CustomerVisit.objects.get(customer=customer, merchant=merchant)
    assert visit.visit_date == date(2026, 3, 9)
    assert sql("SELECT date FROM merchant_daily_analytics WHERE merchant_id = %s", [merchant.id]) == [
        (date(2026, 3, 9),)
    ]


def test_customer_totals_add_up_over_merchants(db, customer):
    first, second = MerchantFactory(), MerchantFactory()
    complete_sale(merchant=first, customer=customer, amount="10.00")
    complete_sale(merchant=second, customer=customer, amount="5.25")
    complete_sale(merchant=second, customer=customer, amount="1.00")

    customer = Customer.objects.get(pk=customer.pk)
    assert (customer.total_spent, customer.total_transactions) == (Decimal("16.25"), 3)
    assert account_of(customer, second).total_transactions == 2
    assert CustomerVisit.objects.get(customer=customer, merchant=second).visit_count == 2
