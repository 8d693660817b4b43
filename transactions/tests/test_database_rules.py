"""The sale rules live in the database: the ORM and raw SQL get the same result."""

from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from customers.models import Customer
from loyalty.models import PointsTransaction
from loyalty.testing import account_of, ledger_sum
from merchants.tests.factories import MerchantFactory
from system.testing import sql
from transactions.models import Transaction
from transactions.testing import complete_sale
from transactions.tests.factories import TransactionFactory


def test_raw_sql_insert_naming_only_business_columns_gets_the_same_rules(merchant, program, customer):
    sql(
        "INSERT INTO transactions (merchant_id, customer_id, amount, status) VALUES (%s, %s, 40.99, 'completed')",
        [merchant.id, customer.id],
    )

    sale = Transaction.objects.get(merchant=merchant)
    assert (sale.points_earned, sale.currency) == (40, "USD")
    assert sale.created_at is not None and sale.updated_at is not None
    account = account_of(customer, merchant)
    assert account.current_points == 40 == ledger_sum(account)
    customer.refresh_from_db()
    assert customer.total_spent == Decimal("40.99")


def test_pending_then_completed_awards_exactly_once(merchant, program, customer):
    sale = TransactionFactory(merchant=merchant, customer=customer, amount=Decimal("15.00"), status="pending")
    assert not PointsTransaction.objects.exists()

    sale.status = Transaction.Status.COMPLETED
    sale.save()
    sale.save()  # saving again awards nothing
    sql("UPDATE transactions SET status = 'completed' WHERE id = %s", [sale.id])

    account = account_of(customer, merchant)
    assert account.current_points == 15 == ledger_sum(account)
    assert account.ledger.count() == 1
    customer.refresh_from_db()
    assert customer.total_transactions == 1


def test_refund_takes_back_points_at_the_rate_of_the_sale(merchant, program, customer):
    sale = complete_sale(merchant=merchant, customer=customer, amount="40.00")
    program.points_per_dollar = Decimal("0.5")  # today's rule changed: it would take back 20
    program.save()

    Transaction.objects.filter(pk=sale.pk).update(status=Transaction.Status.REFUNDED)

    sale.refresh_from_db()
    assert sale.refunded_at is not None and sale.points_reversed == 40
    account = account_of(customer, merchant)
    assert (account.current_points, account.total_points_earned, account.total_spent) == (0, 0, Decimal("0.00"))
    assert account.current_points == ledger_sum(account)
    assert set(account.ledger.values_list("transaction_type", "points_change")) == {("earn", 40), ("reverse", -40)}
    customer.refresh_from_db()
    assert (customer.total_spent, customer.total_transactions) == (Decimal("0.00"), 0)


def test_cancelling_a_completed_sale_reverses_it_by_raw_sql(merchant, program, customer):
    sale = complete_sale(merchant=merchant, customer=customer, amount="12.00")

    sql("UPDATE transactions SET status = 'cancelled' WHERE id = %s", [sale.id])

    account = account_of(customer, merchant)
    assert account.current_points == 0 == ledger_sum(account)
    assert account.ledger.filter(transaction_type="reverse", points_change=-12).exists()


def test_reversal_takes_back_only_what_is_left_and_says_so(merchant, program, customer):
    sale = complete_sale(merchant=merchant, customer=customer, amount="30.00")
    account = account_of(customer, merchant)
    PointsTransaction.objects.create(
        customer_loyalty_account=account, transaction_type="adjust", points_change=-20, description="spent elsewhere"
    )

    Transaction.objects.filter(pk=sale.pk).update(status="refunded")

    sale.refresh_from_db()
    account.refresh_from_db()
    assert sale.points_reversed == 10
    assert account.current_points == 0 == ledger_sum(account)
    assert "20 points already spent" in account.ledger.get(transaction_type="reverse").description


def test_cancelling_a_pending_sale_moves_nothing(merchant, program, customer):
    sale = TransactionFactory(merchant=merchant, customer=customer, status="pending")
    sale.status = "cancelled"
    sale.save()
    assert not PointsTransaction.objects.exists()
    customer.refresh_from_db()
    assert customer.total_transactions == 0


@pytest.mark.parametrize(
    ("start", "target"),
    [
        ("completed", "pending"),
        ("completed", "failed"),
        ("failed", "completed"),
        ("failed", "pending"),
        ("cancelled", "completed"),
        ("refunded", "completed"),
        ("refunded", "cancelled"),
        ("pending", "refunded"),
    ],
)
def test_illegal_status_moves_raise_and_change_nothing(merchant, program, customer, start, target):
    sale = TransactionFactory(merchant=merchant, customer=customer, status="pending")
    path = {
        "completed": ["completed"],
        "failed": ["failed"],
        "cancelled": ["cancelled"],
        "refunded": ["completed", "refunded"],
        "pending": [],
    }[start]
    for status in path:
        Transaction.objects.filter(pk=sale.pk).update(status=status)
    before = sql("SELECT status, points_earned FROM transactions WHERE id = %s", [sale.id])

    with pytest.raises(IntegrityError, match=f"illegal status change .*{start} -> {target}"):
        with transaction.atomic():
            sql("UPDATE transactions SET status = %s WHERE id = %s", [target, sale.id])

    assert sql("SELECT status, points_earned FROM transactions WHERE id = %s", [sale.id]) == before


def test_a_new_transaction_cannot_start_refunded(merchant, customer):
    with pytest.raises(IntegrityError, match="a new transaction cannot be refunded"):
        with transaction.atomic():
            TransactionFactory(merchant=merchant, customer=customer, status="refunded")
    assert not Transaction.objects.exists()


def test_amount_of_a_completed_sale_cannot_change(merchant, program, customer):
    sale = complete_sale(merchant=merchant, customer=customer, amount="10.00")
    with pytest.raises(IntegrityError, match="amount of a completed transaction cannot change"):
        with transaction.atomic():
            sql("UPDATE transactions SET amount = 99 WHERE id = %s", [sale.id])


def test_currency_must_be_the_merchants(merchant, customer):
    with pytest.raises(IntegrityError, match="differs from the merchant's currency"):
        with transaction.atomic():
            TransactionFactory(merchant=merchant, customer=customer, currency="EUR")


def test_derived_columns_cannot_be_written(merchant, program, customer):
    sale = complete_sale(merchant=merchant, customer=customer, amount="10.00")
    sql("UPDATE transactions SET points_earned = 500 WHERE id = %s", [sale.id])
    sale.refresh_from_db()
    assert sale.points_earned == 10


def test_minimum_spend_and_rounding(merchant, program, customer):
    program.min_spend_amount = Decimal("5.00")
    program.points_per_dollar = Decimal("1.5")
    program.save()
    small = complete_sale(merchant=merchant, customer=customer, amount="4.99")
    down = complete_sale(merchant=merchant, customer=customer, amount="9.99")  # 14.985 -> 14
    program.rounding = "nearest"
    program.save()
    nearest = complete_sale(merchant=merchant, customer=customer, amount="9.99")  # -> 15

    assert (small.points_earned, down.points_earned, nearest.points_earned) == (0, 14, 15)
    assert account_of(customer, merchant).current_points == 29


def test_without_an_active_program_the_account_exists_with_no_points(merchant, customer):
    sale = complete_sale(merchant=merchant, customer=customer, amount="10.00")
    assert (sale.points_earned, sale.points_rate) == (0, None)
    account = account_of(customer, merchant)
    assert (account.current_points, account.total_transactions, account.loyalty_program) == (0, 1, None)


def test_a_late_evening_sale_by_raw_sql_belongs_to_the_local_day_too(db, customer):
    merchant = MerchantFactory(timezone="Asia/Tokyo")
    # 2026-03-09 15:30 UTC is 00:30 on March 10 in Tokyo.
    sql(
        "INSERT INTO transactions (merchant_id, customer_id, amount, status, completed_at) "
        "VALUES (%s, %s, 500, 'completed', '2026-03-09 15:30+00')",
        [merchant.id, customer.id],
    )

    assert sql("SELECT visit_date FROM customer_visits WHERE merchant_id = %s", [merchant.id]) == [(date(2026, 3, 10),)]
    assert sql("SELECT date FROM merchant_daily_analytics WHERE merchant_id = %s", [merchant.id]) == [
        (date(2026, 3, 10),)
    ]


def test_a_stale_save_of_a_customer_keeps_the_totals(merchant, program, customer):
    stale = Customer.objects.get(pk=customer.pk)
    complete_sale(merchant=merchant, customer=customer, amount="25.00")
    stale.first_name = "Renamed"
    stale.save()
    fresh = Customer.objects.get(pk=customer.pk)
    assert (fresh.first_name, fresh.total_spent, fresh.total_transactions) == ("Renamed", Decimal("25.00"), 1)
    assert fresh.last_visit_at is not None


def test_totals_cannot_be_written_directly(merchant, program, customer):
    complete_sale(merchant=merchant, customer=customer, amount="25.00")
    sql("UPDATE customers SET total_spent = 0, total_transactions = 0 WHERE id = %s", [customer.id])
    customer.refresh_from_db()
    assert (customer.total_spent, customer.total_transactions) == (Decimal("25.00"), 1)


def test_a_completed_sale_cannot_be_deleted(merchant, program, customer):
    sale = complete_sale(merchant=merchant, customer=customer)
    with pytest.raises(IntegrityError, match="a completed transaction cannot be deleted"):
        with transaction.atomic():
            sql("DELETE FROM transactions WHERE id = %s", [sale.id])
    assert Transaction.objects.filter(pk=sale.pk).exists()


def test_a_pending_or_failed_sale_can_be_deleted(merchant, customer):
    pending = TransactionFactory(merchant=merchant, customer=customer, status="pending")
    failed = TransactionFactory(merchant=merchant, customer=customer, status="failed")
    sql("DELETE FROM transactions WHERE id IN (%s, %s)", [pending.id, failed.id])
    assert not Transaction.objects.exists()


def test_a_sale_that_never_completed_has_no_completion_time(merchant, program, customer):
    sale = TransactionFactory(merchant=merchant, customer=customer, status="pending")
    sql("UPDATE transactions SET completed_at = now() WHERE id = %s", [sale.id])
    sql("UPDATE transactions SET status = 'cancelled' WHERE id = %s", [sale.id])
    sale.refresh_from_db()
    assert (sale.status, sale.completed_at) == ("cancelled", None)
    assert sql("SELECT count(*) FROM merchant_daily_analytics_deltas WHERE merchant_id = %s", [merchant.id]) == [(0,)]


def test_a_sale_cannot_complete_in_the_future(merchant, customer):
    with pytest.raises(IntegrityError, match="cannot complete in the future"):
        with transaction.atomic():
            sql(
                "INSERT INTO transactions (merchant_id, customer_id, amount, status, completed_at) "
                "VALUES (%s, %s, 5, 'completed', now() + interval '1 day')",
                [merchant.id, customer.id],
            )


def test_points_beyond_what_an_account_holds_are_refused_clearly(merchant, program, customer):
    program.points_per_dollar = 1000
    program.save()
    with pytest.raises(IntegrityError, match="earns more points than an account can hold"):
        with transaction.atomic():
            complete_sale(merchant=merchant, customer=customer, amount="9999999.99")


def test_the_time_zone_of_a_merchant_with_sales_cannot_change(merchant, program, customer):
    complete_sale(merchant=merchant, customer=customer)
    with pytest.raises(IntegrityError, match="cannot change"):
        with transaction.atomic():
            sql("UPDATE merchants SET timezone = 'Asia/Tokyo' WHERE id = %s", [merchant.id])
    merchant.timezone = "Asia/Tokyo"
    with pytest.raises(ValidationError, match="cannot change once the merchant has sales"):
        merchant.full_clean()


def test_a_program_caps_the_points_of_one_sale(merchant, program, customer):
    program.max_points_per_transaction = 50
    program.save()
    assert complete_sale(merchant=merchant, customer=customer, amount="80.00").points_earned == 50


def test_points_are_earned_on_what_is_paid_unless_the_program_says_the_whole_bill(merchant, program, customer):
    complete_sale(merchant=merchant, customer=customer, amount="300.00")
    paid = complete_sale(merchant=merchant, customer=customer, amount="20.00", points_redeemed=100)
    assert (paid.discount_amount, paid.points_earned) == (Decimal("1.00"), 19)
    program.earn_on_total = True
    program.save()
    whole = complete_sale(merchant=merchant, customer=customer, amount="20.00", points_redeemed=100)
    assert whole.points_earned == 20


def test_a_sale_never_completes_before_it_was_created(merchant, program, customer):
    sale = complete_sale(merchant=merchant, customer=customer)
    pending = Transaction.objects.create(merchant=merchant, customer=customer, amount=Decimal("3"), status="pending")
    Transaction.objects.filter(pk=pending.pk).update(status="completed")
    pending.refresh_from_db()
    assert sale.completed_at >= sale.created_at and pending.completed_at >= pending.created_at
