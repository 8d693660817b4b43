"""Random sequences of earns, redemptions, refunds, expiries and adjustments (hypothesis): after
every step, every account agrees with its ledger and its lots, no sale gives back or takes back
more than it moved, and the balance never goes below what the program allows."""

from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from customers.tests.factories import CustomerFactory
from loyalty.integrity import derived_state_errors, ledger_errors
from loyalty.models import CustomerLoyaltyAccount, PointsTransaction
from system.testing import sql
from transactions.models import Transaction
from transactions.services.refunds import RefundError, transaction_refund

cents = st.integers(min_value=1, max_value=20_000).map(lambda c: Decimal(c) / 100)

steps = st.one_of(
    st.tuples(st.just("sale"), cents, st.sampled_from([0, 0, 100, 150, 300])),
    st.tuples(st.just("refund"), st.integers(0, 50), st.floats(0.01, 1.2)),
    st.tuples(st.just("full_refund"), st.integers(0, 50), st.just(0)),
    st.tuples(st.just("expire"), st.integers(0, 50), st.just(0)),
    st.tuples(st.just("adjust"), st.integers(-300, 300).filter(bool), st.just(0)),
    st.tuples(st.just("policy"), st.sampled_from([0, 25, 1000]), st.just(0)),
)


def apply(step, merchant, program, customer, sales):
    kind, a, b = step
    if kind == "sale":
        sale = Transaction.objects.create(
            merchant=merchant, customer=customer, amount=a, status="completed", points_redeemed=b
        )
        sales.append(sale.pk)
    elif kind in ("refund", "full_refund") and sales:
        sale = Transaction.objects.get(pk=sales[a % len(sales)])
        amount = None
        if kind == "refund":
            amount = max((sale.amount * Decimal(str(b))).quantize(Decimal("0.01")), Decimal("0.01"))
        transaction_refund(merchant=merchant, transaction_id=sale.pk, acting_user=None, amount=amount)
    elif kind == "expire":
        lots = sql("SELECT id FROM points_lots WHERE remaining > 0 ORDER BY earned_at")
        if lots:
            sql("UPDATE points_lots SET expires_at = now() WHERE id = %s", [lots[a % len(lots)][0]])
            sql("SELECT expire_points()")
    elif kind == "adjust":
        account = CustomerLoyaltyAccount.objects.filter(merchant=merchant, customer=customer).first()
        if account:
            PointsTransaction.objects.create(
                customer_loyalty_account=account, transaction_type="adjust", points_change=a
            )
    elif kind == "policy":
        program.shortfall_policy = "allow_negative" if a else "take_available"
        program.max_negative_points = a
        program.save()


def sale_rules_hold() -> list:
    return sql(
        "SELECT id FROM transactions WHERE points_reversed + points_shortfall > points_earned "
        "OR points_returned > points_redeemed OR refunded_amount > amount "
        "OR (status = 'refunded' AND (points_reversed + points_shortfall, points_returned, refunded_amount) "
        "    <> (points_earned, points_redeemed, amount))"
    )


@pytest.mark.django_db
@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(st.lists(steps, min_size=1, max_size=14))
def test_any_sequence_keeps_every_invariant(merchant, program, sequence):
    customer = CustomerFactory()
    sales = []
    for step in sequence:
        try:
            with transaction.atomic():
                apply(step, merchant, program, customer, sales)
        except (IntegrityError, RefundError):
            pass  # refused: the invariants below hold all the same
        assert ledger_errors() == [], step
        assert sale_rules_hold() == [], step
    assert derived_state_errors() == []
