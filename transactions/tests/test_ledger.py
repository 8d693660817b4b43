"""The ledger is append-only and is the only way points move."""

from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from customers.tests.factories import CustomerFactory
from loyalty.models import CustomerLoyaltyAccount, PointsTransaction
from loyalty.testing import account_of, ledger_sum
from system.testing import sql
from transactions.testing import complete_sale


@pytest.fixture
def account(merchant, program, customer):
    complete_sale(merchant=merchant, customer=customer, amount="50.00")
    return account_of(customer, merchant)


def test_an_adjustment_moves_the_balance_and_records_it(account):
    row = PointsTransaction.objects.create(
        customer_loyalty_account=account,
        transaction_type="adjust",
        points_change=-20,
        description="goodwill correction",
    )
    row.refresh_from_db()
    account.refresh_from_db()
    assert (account.current_points, row.balance_after) == (30, 30)
    assert account.current_points == ledger_sum(account)


def test_an_adjustment_by_raw_sql_moves_the_balance_too(account):
    sql(
        "INSERT INTO points_transactions (customer_loyalty_account_id, transaction_type, points_change) "
        "VALUES (%s, 'adjust', 7)",
        [account.id],
    )
    account.refresh_from_db()
    assert account.current_points == 57 == ledger_sum(account)


def test_an_overdraft_is_refused_and_changes_nothing(account):
    with pytest.raises(IntegrityError, match="current_points_nonnegative"):
        with transaction.atomic():
            PointsTransaction.objects.create(
                customer_loyalty_account=account, transaction_type="redeem", points_change=-51
            )
    account.refresh_from_db()
    assert account.current_points == 50
    assert account.ledger.count() == 1


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE points_transactions SET points_change = 500",
        "DELETE FROM points_transactions",
    ],
)
def test_the_ledger_is_append_only(account, statement):
    with pytest.raises(IntegrityError, match="points_transactions is append-only"):
        with transaction.atomic():
            sql(statement)
    assert account.ledger.get().points_change == 50


@pytest.mark.parametrize("column", ["current_points", "total_points_earned", "total_points_redeemed"])
def test_account_points_cannot_be_set_directly(account, column):
    with pytest.raises(IntegrityError, match="change only through points_transactions"):
        with transaction.atomic():
            sql(f"UPDATE customer_loyalty_accounts SET {column} = {column} + 100 WHERE id = %s", [account.id])
    account.refresh_from_db()
    assert account.current_points == 50


def test_a_new_account_cannot_start_with_points(merchant, customer):
    with pytest.raises(IntegrityError, match="change only through points_transactions"):
        with transaction.atomic():
            sql(
                "INSERT INTO customer_loyalty_accounts (customer_id, merchant_id, current_points) VALUES (%s, %s, 10)",
                [customer.id, merchant.id],
            )
    assert not CustomerLoyaltyAccount.objects.exists()


def test_saving_an_account_through_the_orm_keeps_its_points(account):
    account.current_points = 0  # a stale or tampered value in memory is not written over the ledger
    with pytest.raises(IntegrityError):
        with transaction.atomic():
            account.save()
    fresh = CustomerLoyaltyAccount.objects.get(pk=account.pk)
    fresh.save()  # an unchanged save is fine
    assert fresh.current_points == 50


def test_earned_and_redeemed_totals_follow_the_ledger(account):
    sale = account.ledger.get().transaction
    PointsTransaction.objects.create(customer_loyalty_account=account, transaction_type="redeem", points_change=-30)
    PointsTransaction.objects.create(
        customer_loyalty_account=account, transaction=sale, transaction_type="reverse", points_change=10
    )
    account.refresh_from_db()
    assert (account.current_points, account.total_points_earned, account.total_points_redeemed) == (30, 50, 20)


def test_a_redemption_counts_in_todays_analytics(account, merchant):
    PointsTransaction.objects.create(customer_loyalty_account=account, transaction_type="redeem", points_change=-30)
    assert sql("SELECT today_points_redeemed FROM merchant_dashboard WHERE merchant_id = %s", [merchant.id]) == [(30,)]


@pytest.mark.parametrize("kind", ["earn", "reverse"])
def test_earned_or_reversed_points_belong_to_a_sale_of_the_account(account, kind, merchant, program):
    other_sale = complete_sale(merchant=merchant, customer=CustomerFactory())
    for transaction_id in (None, other_sale.id):
        with pytest.raises(IntegrityError, match="belong to a sale of this account's customer at its merchant"):
            with transaction.atomic():
                PointsTransaction.objects.create(
                    customer_loyalty_account=account,
                    transaction_id=transaction_id,
                    transaction_type=kind,
                    points_change=5 if kind == "earn" else -5,
                )
    account.refresh_from_db()
    assert account.current_points == 50 == ledger_sum(account)


def test_a_stale_save_of_an_account_keeps_its_spend_figures(account, merchant, customer, program):
    stale = CustomerLoyaltyAccount.objects.get(pk=account.pk)
    program.min_spend_amount = 100  # the next sale earns no points, but moves the spend figures
    program.save()
    complete_sale(merchant=merchant, customer=customer, amount="20.00")
    stale.save()
    account.refresh_from_db()
    assert (account.total_spent, account.total_transactions) == (Decimal("70.00"), 2)


def test_a_guc_does_not_open_the_account_to_direct_writes(account):
    with pytest.raises(IntegrityError, match="change only through points_transactions"):
        with transaction.atomic():
            sql("SELECT set_config('loyalty.ledger_write', 'on', true)")
            sql("UPDATE customer_loyalty_accounts SET current_points = 1000000 WHERE id = %s", [account.id])
