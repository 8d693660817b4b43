"""Partial refunds, the shortfall policy, expiry by lot and tiers, as the database keeps them."""

from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from django.db import IntegrityError, transaction

from loyalty.integrity import ledger_errors
from loyalty.models import LoyaltyTier, PointsLot, PointsTransaction
from loyalty.testing import account_of
from system.testing import sql
from transactions.models import Transaction, TransactionRefund
from transactions.services.refunds import RefundError, transaction_refund
from transactions.testing import complete_sale


def refund(sale, amount=None):
    return transaction_refund(
        merchant=sale.merchant, transaction_id=sale.pk, acting_user=None, amount=Decimal(amount) if amount else None
    )


def give(customer, merchant, points):
    """Points added by hand, the way an owner's adjustment adds them."""
    PointsTransaction.objects.create(
        customer_loyalty_account=account_of(customer, merchant), transaction_type="adjust", points_change=points
    )


def balance(customer, merchant) -> int:
    return account_of(customer, merchant).current_points


def lots(customer, merchant) -> list[tuple[int, int]]:
    return list(
        PointsLot.objects.filter(customer_loyalty_account=account_of(customer, merchant))
        .order_by("earned_at")
        .values_list("points", "remaining")
    )


@pytest.fixture(autouse=True)
def ledger_is_sound_afterwards(db):
    yield
    assert ledger_errors() == []


# --- partial refunds -----------------------------------------------------------------------------


def test_a_partial_refund_takes_back_points_in_proportion_rounded_down(merchant, program, customer):
    sale = complete_sale(merchant=merchant, customer=customer, amount="10.00")

    sale = refund(sale, "3.33")

    assert (sale.status, sale.refunded_amount, sale.points_reversed) == ("completed", Decimal("3.33"), 3)
    assert balance(customer, merchant) == 7
    [row] = TransactionRefund.objects.filter(transaction=sale).values_list("kind", "amount", "points_taken_back")
    assert row == ("refund", Decimal("3.33"), 3)
    assert account_of(customer, merchant).total_spent == Decimal("6.67")


def test_refunds_in_parts_take_back_exactly_what_the_sale_earned(merchant, program, customer):
    sale = complete_sale(merchant=merchant, customer=customer, amount="10.00")

    taken = [refund(sale, part).points_reversed for part in ("3.33", "3.33", "3.34")]

    sale.refresh_from_db()
    assert taken == [3, 6, 10]
    assert (sale.status, sale.refunded_amount) == ("refunded", Decimal("10.00"))
    assert sale.refunded_at is not None
    assert balance(customer, merchant) == 0
    assert account_of(customer, merchant).total_transactions == 0


def test_a_refund_uses_the_rate_stored_on_the_sale_not_todays(merchant, program, customer):
    sale = complete_sale(merchant=merchant, customer=customer, amount="10.00")
    program.points_per_dollar = Decimal("5")
    program.save()

    assert refund(sale, "5.00").points_reversed == 5


def test_a_refund_of_more_than_is_left_is_refused_and_changes_nothing(merchant, program, customer):
    sale = complete_sale(merchant=merchant, customer=customer, amount="10.00")
    refund(sale, "6.00")

    with pytest.raises(RefundError, match="Only 4.00 USD of this sale is left to refund"):
        refund(sale, "4.01")
    with pytest.raises(RefundError, match="more than zero"):
        refund(sale, "0.001")

    sale.refresh_from_db()
    assert (sale.refunded_amount, sale.points_reversed, balance(customer, merchant)) == (Decimal("6.00"), 6, 4)


def test_the_database_refuses_a_bad_refund_from_raw_sql_too(merchant, program, customer):
    sale = complete_sale(merchant=merchant, customer=customer, amount="10.00")
    pending = Transaction.objects.create(merchant=merchant, customer=customer, amount=Decimal("5"), status="pending")

    for target, change, message in [
        (sale, "refunded_amount = 10.01", "at most 10.00 USD is left to refund"),
        (sale, "refunded_amount = -1", "a refund must be more than zero"),
        (sale, "refunded_amount = 4, status = 'refunded'", "a refund of part of a sale leaves it completed"),
        (pending, "refunded_amount = 1", "only a completed sale can be refunded; this one is pending"),
    ]:
        with pytest.raises(IntegrityError, match=message), transaction.atomic():
            sql(f"UPDATE transactions SET {change} WHERE id = %s", [target.pk])

    sql("UPDATE transactions SET refunded_amount = refunded_amount + 2.50 WHERE id = %s", [sale.pk])
    sale.refresh_from_db()
    assert (sale.refunded_amount, sale.points_reversed, balance(customer, merchant)) == (Decimal("2.50"), 2, 8)


def test_refunding_a_sale_paid_with_points_gives_them_back_in_proportion(merchant, program, customer):
    complete_sale(merchant=merchant, customer=customer, amount="1.00")
    give(customer, merchant, 199)
    sale = complete_sale(merchant=merchant, customer=customer, amount="10.00", points_redeemed=100)
    assert (sale.discount_amount, sale.points_earned, balance(customer, merchant)) == (Decimal("1.00"), 9, 109)

    sale = refund(sale, "5.00")

    assert (sale.points_returned, sale.points_reversed) == (50, 4)
    assert balance(customer, merchant) == 155


def test_a_full_refund_of_a_sale_paid_with_points_puts_the_balance_back_exactly(merchant, program, customer):
    complete_sale(merchant=merchant, customer=customer, amount="1.00")
    give(customer, merchant, 199)
    sale = complete_sale(merchant=merchant, customer=customer, amount="10.00", points_redeemed=100)

    refund(sale, "2.00")
    sale = refund(sale)

    assert (sale.status, sale.points_returned, sale.points_reversed) == ("refunded", 100, 9)
    assert balance(customer, merchant) == 200
    movements = sorted(PointsTransaction.objects.filter(transaction=sale).values_list("points_change", flat=True))
    assert sum(movements) == 0 and movements.count(-100) == 1  # redeemed once, given back once, never twice


def test_cancelling_a_pending_sale_moves_no_points(merchant, program, customer):
    complete_sale(merchant=merchant, customer=customer, amount="3.00")
    sale = Transaction.objects.create(merchant=merchant, customer=customer, amount=Decimal("50"), status="pending")

    Transaction.objects.filter(pk=sale.pk).update(status="cancelled")

    assert not PointsTransaction.objects.filter(transaction=sale).exists()
    assert not TransactionRefund.objects.filter(transaction=sale).exists()
    assert balance(customer, merchant) == 3


def test_a_sale_refunded_in_part_cannot_be_cancelled(merchant, program, customer):
    sale = complete_sale(merchant=merchant, customer=customer, amount="10.00")
    refund(sale, "1.00")

    with pytest.raises(IntegrityError, match="a sale refunded in part cannot be cancelled"), transaction.atomic():
        Transaction.objects.filter(pk=sale.pk).update(status="cancelled")


def test_a_partial_refund_counts_in_the_days_refunds(merchant, program, customer):
    sale = complete_sale(merchant=merchant, customer=customer, amount="10.00")
    refund(sale, "4.00")
    refund(sale, "1.00")

    [row] = sql(
        "SELECT total_sales, total_refunds, refund_count, points_reversed FROM merchant_dashboard "
        "WHERE merchant_id = %s",
        [merchant.pk],
    )
    assert row == (Decimal("10.00"), Decimal("5.00"), 2, 5)


# --- the shortfall policy ------------------------------------------------------------------------


def spend_everything(merchant, customer):
    """A sale earning 100 points, then a sale paying with all of them (earning 9 more)."""
    first = complete_sale(merchant=merchant, customer=customer, amount="100.00")
    complete_sale(merchant=merchant, customer=customer, amount="10.00", points_redeemed=100)
    assert balance(customer, merchant) == 9
    return first


def test_take_available_takes_what_is_left_and_records_the_shortfall(merchant, program, customer):
    first = spend_everything(merchant, customer)

    first = refund(first)

    assert (first.points_reversed, first.points_shortfall) == (9, 91)
    assert balance(customer, merchant) == 0
    [row] = TransactionRefund.objects.filter(transaction=first).values_list("points_taken_back", "points_shortfall")
    assert row == (9, 91)
    note = PointsTransaction.objects.get(transaction=first, transaction_type="reverse").description
    assert note == "Taken back: purchase refunded (91 points already spent)"


def test_allow_negative_goes_below_zero_down_to_the_limit_and_later_points_pay_it_back(merchant, program, customer):
    program.shortfall_policy = "allow_negative"
    program.max_negative_points = 50
    program.save()
    first = spend_everything(merchant, customer)

    first = refund(first)

    assert (first.points_reversed, first.points_shortfall) == (59, 41)
    assert balance(customer, merchant) == -50
    with pytest.raises(IntegrityError, match="current_points_nonnegative"), transaction.atomic():
        complete_sale(merchant=merchant, customer=customer, amount="10.00", points_redeemed=100)
    with pytest.raises(IntegrityError, match="current_points_nonnegative"), transaction.atomic():
        give(customer, merchant, -1)  # an adjustment never overdraws

    complete_sale(merchant=merchant, customer=customer, amount="30.00")
    assert balance(customer, merchant) == -20
    assert lots(customer, merchant)[-1] == (30, 0)  # all of it paid the debt
    complete_sale(merchant=merchant, customer=customer, amount="25.00")
    assert balance(customer, merchant) == 5 and lots(customer, merchant)[-1] == (25, 5)


# --- expiry by lot -------------------------------------------------------------------------------


def make_due(customer, merchant):
    sql(
        "UPDATE points_lots SET expires_at = now() - interval '1 second' WHERE customer_loyalty_account_id = %s",
        [account_of(customer, merchant).pk],
    )


def test_each_lot_expires_by_the_setting_when_it_came_in(merchant, program, customer):
    program.points_expiry_days = 30
    program.save()
    complete_sale(merchant=merchant, customer=customer, amount="10.00")
    program.points_expiry_days = 10
    program.save()
    complete_sale(merchant=merchant, customer=customer, amount="20.00")
    program.points_expiry_days = None
    program.save()
    complete_sale(merchant=merchant, customer=customer, amount="5.00")

    days = sql(
        "SELECT points, extract(day FROM expires_at - earned_at) FROM points_lots "
        "WHERE customer_loyalty_account_id = %s ORDER BY earned_at",
        [account_of(customer, merchant).pk],
    )
    assert days == [(10, Decimal("30")), (20, Decimal("10")), (5, None)]


def test_redemption_uses_the_oldest_lots_first(merchant, program, customer):
    for amount in ("60.00", "70.00", "80.00"):
        complete_sale(merchant=merchant, customer=customer, amount=amount)

    complete_sale(merchant=merchant, customer=customer, amount="10.00", points_redeemed=100)

    assert lots(customer, merchant) == [(60, 0), (70, 30), (80, 80), (9, 9)]


def test_a_refund_takes_back_from_its_own_sales_lot_first(merchant, program, customer):
    complete_sale(merchant=merchant, customer=customer, amount="60.00")
    second = complete_sale(merchant=merchant, customer=customer, amount="70.00")

    refund(second, "35.00")

    assert lots(customer, merchant) == [(60, 60), (70, 35)]


def test_expire_points_expires_what_is_left_of_due_lots_once(merchant, program, customer, capsys):
    program.points_expiry_days = 365
    program.save()
    complete_sale(merchant=merchant, customer=customer, amount="150.00")
    complete_sale(merchant=merchant, customer=customer, amount="10.00", points_redeemed=100)  # 50 left, 9 earned
    make_due(customer, merchant)
    complete_sale(merchant=merchant, customer=customer, amount="5.00")  # not due

    call_command("expire_points")
    call_command("expire_points")

    assert capsys.readouterr().out.splitlines() == ["Expired 2 lot(s) of points.", "Expired 0 lot(s) of points."]
    expiries = PointsTransaction.objects.filter(transaction_type="expire")
    assert sorted(e.points_change for e in expiries) == [-50, -9]
    assert all(e.lot_id and e.description.startswith("Expired: points received on ") for e in expiries)
    assert balance(customer, merchant) == 5
    assert lots(customer, merchant) == [(150, 0), (9, 0), (5, 5)]


def test_a_lot_that_is_not_due_is_not_expired_by_a_raw_insert(merchant, program, customer):
    program.points_expiry_days = 365
    program.save()
    complete_sale(merchant=merchant, customer=customer, amount="10.00")
    lot = PointsLot.objects.get()

    sql(
        "INSERT INTO points_transactions (customer_loyalty_account_id, transaction_type, points_change, lot_id) "
        "VALUES (%s, 'expire', -10, %s)",
        [lot.customer_loyalty_account_id, lot.pk],
    )

    assert not PointsTransaction.objects.filter(transaction_type="expire").exists()
    assert balance(customer, merchant) == 10


def test_lots_are_kept_by_the_ledger_only_their_expiry_can_be_moved(merchant, program, customer):
    complete_sale(merchant=merchant, customer=customer, amount="10.00")
    lot = PointsLot.objects.get()

    for change in ("remaining = 0", "points = 11"):
        with pytest.raises(IntegrityError, match="points lots are kept by the ledger"), transaction.atomic():
            sql(f"UPDATE points_lots SET {change} WHERE id = %s", [lot.pk])
    with pytest.raises(IntegrityError, match="points lots are kept by the ledger"), transaction.atomic():
        sql("DELETE FROM points_lots WHERE id = %s", [lot.pk])
    sql("UPDATE points_lots SET expires_at = now() + interval '1 year' WHERE id = %s", [lot.pk])


# --- tiers ---------------------------------------------------------------------------------------


def test_a_tier_multiplies_what_a_sale_earns_and_the_multiplier_is_stored(merchant, program, customer):
    LoyaltyTier.objects.create(program=program, name="Bronze", min_points=0, multiplier=Decimal("1"))
    LoyaltyTier.objects.create(program=program, name="Silver", min_points=50, multiplier=Decimal("1.5"))
    first = complete_sale(merchant=merchant, customer=customer, amount="60.00")

    second = complete_sale(merchant=merchant, customer=customer, amount="10.00")

    assert (first.points_multiplier, first.points_earned) == (Decimal("1.00"), 60)
    assert (second.points_multiplier, second.points_earned) == (Decimal("1.50"), 15)
    earn = PointsTransaction.objects.get(transaction=second, transaction_type="earn")
    assert earn.multiplier == Decimal("1.50") and "tier ×1.50" in earn.description
    assert refund(second, "5.00").points_reversed == 7  # half of what it earned, rounded down


def test_the_tier_counts_points_earned_in_the_last_12_months_less_refunds(merchant, program, customer):
    LoyaltyTier.objects.create(program=program, name="Silver", min_points=50, multiplier=Decimal("2"))
    old = complete_sale(merchant=merchant, customer=customer, amount="100.00")
    sql("SET LOCAL session_replication_role = replica")  # the ledger is append-only: back-date it past that
    sql("UPDATE points_transactions SET created_at = now() - interval '13 months' WHERE transaction_id = %s", [old.pk])
    sql("UPDATE transactions SET completed_at = now() - interval '13 months' WHERE id = %s", [old.pk])
    sql("UPDATE loyalty_programs SET created_at = now() - interval '14 months' WHERE id = %s", [program.pk])
    sql("SET LOCAL session_replication_role = origin")
    refunded = complete_sale(merchant=merchant, customer=customer, amount="40.00")
    refund(refunded)
    [(points,)] = sql("SELECT loyalty_points_last_year(%s, %s)", [customer.pk, merchant.pk])
    assert points == 0

    assert complete_sale(merchant=merchant, customer=customer, amount="10.00").points_multiplier == Decimal("1")


# --- check_ledger --------------------------------------------------------------------------------


def test_check_ledger_names_an_account_whose_lots_are_broken(merchant, program, customer, capsys):
    complete_sale(merchant=merchant, customer=customer, amount="10.00")
    sql("SET LOCAL session_replication_role = replica")
    sql("UPDATE points_lots SET remaining = 4")
    sql("SET LOCAL session_replication_role = origin")

    with pytest.raises(CommandError, match="in 1 account"):
        call_command("check_ledger")

    err = capsys.readouterr().err
    assert f"customer {customer.customer_code} at merchant {merchant.merchant_code}: open lots differ" in err
    sql("SET LOCAL session_replication_role = replica")
    sql("UPDATE points_lots SET remaining = 10")
    sql("SET LOCAL session_replication_role = origin")


def test_check_ledger_names_a_sale_whose_refund_is_not_in_its_ledger(merchant, program, customer, capsys):
    sale = complete_sale(merchant=merchant, customer=customer, amount="10.00")
    sql("SET LOCAL session_replication_role = replica")
    sql("UPDATE transactions SET points_reversed = 3 WHERE id = %s", [sale.pk])

    with pytest.raises(CommandError):
        call_command("check_ledger")

    err = capsys.readouterr().err
    assert f"a sale's points differ from its ledger rows: sale {sale.pk}: earned 10, redeemed 0, taken back 3" in err
    sql("UPDATE transactions SET points_reversed = 0 WHERE id = %s", [sale.pk])
    sql("SET LOCAL session_replication_role = origin")


# --- found in review -----------------------------------------------------------------------------


def test_one_statement_refunding_several_sales_of_a_customer_applies_the_policy_to_each(merchant, program, customer):
    first = complete_sale(merchant=merchant, customer=customer, amount="100.00")
    second = complete_sale(merchant=merchant, customer=customer, amount="100.00")
    give(customer, merchant, -142)  # spent elsewhere: 58 left

    sql("UPDATE transactions SET status = 'refunded' WHERE id IN (%s, %s)", [first.pk, second.pk])

    sales = Transaction.objects.filter(pk__in=[first.pk, second.pk])
    assert sum(s.points_reversed for s in sales) == 58 and sum(s.points_shortfall for s in sales) == 142
    assert balance(customer, merchant) == 0


def test_a_refund_does_not_take_again_points_that_expired(merchant, program, customer):
    program.points_expiry_days = 365
    program.save()
    first = complete_sale(merchant=merchant, customer=customer, amount="100.00")
    sql(
        "UPDATE points_lots SET expires_at = now() - interval '1 second' "
        "WHERE entry_id = (SELECT id FROM points_transactions WHERE transaction_id = %s)",
        [first.pk],
    )
    sql("SELECT expire_points()")
    complete_sale(merchant=merchant, customer=customer, amount="50.00")

    first = refund(first, "40.00")
    assert (first.points_reversed, first.points_shortfall, balance(customer, merchant)) == (0, 40, 50)
    first = refund(first)
    assert (first.points_reversed, first.points_shortfall, balance(customer, merchant)) == (0, 100, 50)


def test_a_refund_of_part_of_a_large_sale_is_rounded_down_exactly(merchant, program, customer):
    sale = complete_sale(merchant=merchant, customer=customer, amount="1000000000.03")
    assert sale.points_earned == 1_000_000_000

    assert refund(sale, "666666667.02").points_reversed == 666_666_666


def test_a_used_up_lot_keeps_its_expiry_date(merchant, program, customer):
    sale = complete_sale(merchant=merchant, customer=customer, amount="10.00")
    refund(sale)
    lot = PointsLot.objects.get()
    assert lot.remaining == 0

    with pytest.raises(IntegrityError, match="this lot is used up or expired"), transaction.atomic():
        sql("UPDATE points_lots SET expires_at = now() + interval '1 day' WHERE id = %s", [lot.pk])


def test_the_refund_service_returns_the_refund_it_made(merchant, program, customer):
    sale = complete_sale(merchant=merchant, customer=customer, amount="10.00")
    refund(sale, "2.00")
    sale = refund(sale, "3.00")
    assert (sale.refund.amount, sale.refund.points_taken_back) == (Decimal("3.00"), 3)


def test_the_days_points_redeemed_are_net_of_points_given_back(merchant, program, customer):
    complete_sale(merchant=merchant, customer=customer, amount="1.00")
    give(customer, merchant, 199)
    sale = complete_sale(merchant=merchant, customer=customer, amount="10.00", points_redeemed=200)
    refund(sale, "5.00")  # gives back 100

    [(redeemed,)] = sql("SELECT points_redeemed FROM merchant_dashboard WHERE merchant_id = %s", [merchant.pk])
    assert redeemed == 100 == account_of(customer, merchant).total_points_redeemed
