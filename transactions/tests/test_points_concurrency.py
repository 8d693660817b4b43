"""Points under concurrency, with real threads and connections: redemptions racing for one balance,
a refund racing a redemption, expiry running while sales complete. check_ledger passes after each."""

import threading
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db import IntegrityError, connection

from customers.tests.factories import CustomerFactory
from loyalty.integrity import derived_state_errors, ledger_errors
from loyalty.models import PointsLot, PointsTransaction
from loyalty.testing import account_of
from system.testing import sql
from transactions.models import Transaction
from transactions.services.refunds import transaction_refund
from transactions.testing import complete_sale


def in_thread(work):
    def run(*args):
        try:
            return work(*args)
        finally:
            connection.close()

    return run


def give(customer, merchant, points):
    PointsTransaction.objects.create(
        customer_loyalty_account=account_of(customer, merchant), transaction_type="adjust", points_change=points
    )


@pytest.mark.django_db(transaction=True)
def test_twenty_simultaneous_redemptions_exactly_the_affordable_ones_succeed(merchant, program, customer):
    program.points_per_dollar = 0  # the sales earn nothing: only the redemptions move the balance
    program.save()
    complete_sale(merchant=merchant, customer=customer, amount="1.00")
    give(customer, merchant, 1050)  # ten redemptions of 100, and 50 left over
    start = threading.Barrier(20)

    @in_thread
    def till(n):
        start.wait()
        try:
            Transaction.objects.create(
                merchant=merchant, customer=customer, amount=Decimal("20.00"), status="completed", points_redeemed=100
            )
        except IntegrityError as error:
            assert "current_points_nonnegative" in str(error)
            return False
        return True

    with ThreadPoolExecutor(20) as pool:
        outcomes = list(pool.map(till, range(20)))

    assert outcomes.count(True) == 10
    account = account_of(customer, merchant)
    assert (account.current_points, account.total_points_redeemed) == (50, 1000)
    assert Transaction.objects.filter(points_redeemed=100).count() == 10
    assert ledger_errors() == [] and derived_state_errors() == []


@pytest.mark.django_db(transaction=True)
def test_a_refund_racing_a_redemption_never_overdraws_or_takes_back_twice(merchant, program, staff):
    rounds = 6
    customers = [CustomerFactory() for _ in range(rounds)]
    firsts = [complete_sale(merchant=merchant, customer=c, amount="100.00") for c in customers]  # 100 points each
    start = threading.Barrier(2)

    @in_thread
    def refund(first):
        start.wait()
        return transaction_refund(merchant=merchant, transaction_id=first.pk, acting_user=staff["manager"])

    @in_thread
    def redeem(customer):
        start.wait()
        try:
            Transaction.objects.create(
                merchant=merchant, customer=customer, amount=Decimal("10.00"), status="completed", points_redeemed=100
            )
        except IntegrityError:
            return False
        return True

    with ThreadPoolExecutor(2) as pool:
        for customer, first in zip(customers, firsts, strict=True):
            refunded, redeemed = pool.submit(refund, first), pool.submit(redeem, customer)
            refunded, redeemed = refunded.result(), redeemed.result()
            account = account_of(customer, merchant)
            assert refunded.points_reversed + refunded.points_shortfall == 100
            if redeemed:  # the redemption came first: the refund took what was left (9 earned on 9.00 paid)
                assert (refunded.points_reversed, account.current_points) == (9, 0)
            else:  # the refund came first: nothing was left to redeem
                assert (refunded.points_reversed, account.current_points) == (100, 0)

    assert ledger_errors() == [] and derived_state_errors() == []


@pytest.mark.django_db(transaction=True)
def test_expire_points_while_sales_complete_expires_each_lot_once(merchant, program):
    program.points_expiry_days = 365
    program.save()
    customers = [CustomerFactory() for _ in range(8)]
    for customer in customers:
        complete_sale(merchant=merchant, customer=customer, amount="150.00")
    sql("UPDATE points_lots SET expires_at = now() - interval '1 second'")
    start = threading.Barrier(4)

    @in_thread
    def sales(half):
        start.wait()
        done = 0
        for customer in customers[half::2]:
            for _ in range(3):
                try:
                    Transaction.objects.create(
                        merchant=merchant,
                        customer=customer,
                        amount=Decimal("10.00"),
                        status="completed",
                        points_redeemed=100,
                    )
                    done += 1
                except IntegrityError:
                    pass  # the points expired first
        return done

    @in_thread
    def expire(_):
        start.wait()
        call_command("expire_points", stdout=open("/dev/null", "w"))  # noqa: SIM115

    with ThreadPoolExecutor(4) as pool:
        results = [pool.submit(sales, 0), pool.submit(sales, 1), pool.submit(expire, 0), pool.submit(expire, 1)]
        redeemed = sum(r.result() or 0 for r in results)

    call_command("expire_points", stdout=open("/dev/null", "w"))  # noqa: SIM115
    assert not PointsLot.objects.filter(remaining__gt=0, expires_at__lte=sql("SELECT now()")[0][0]).exists()
    expiries = PointsTransaction.objects.filter(transaction_type="expire")
    assert expiries.values("lot").distinct().count() == expiries.count()
    # every first lot is spent or expired, once: 150 points each, 100 per redemption
    assert redeemed <= len(customers)
    for customer in customers:
        first_lot = PointsLot.objects.filter(customer_loyalty_account=account_of(customer, merchant)).earliest(
            "earned_at"
        )
        spent = 100 * Transaction.objects.filter(customer=customer, points_redeemed=100).count()
        expired = -sum(expiries.filter(lot=first_lot).values_list("points_change", flat=True))
        assert spent + expired == 150
    assert ledger_errors() == [] and derived_state_errors() == []
