"""Many tills at once, same customer and merchant: every figure still adds up."""

import threading
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest
from django.db import connection

from analytics.models import CustomerVisit, MerchantDashboard
from customers.models import Customer
from loyalty.integrity import derived_state_errors
from loyalty.testing import account_of, ledger_sum
from transactions.models import Transaction

THREADS = 8
SALES_PER_THREAD = 6


def in_thread(work):
    def run(*args):
        try:
            return work(*args)
        finally:
            connection.close()  # give the connection back to the pool

    return run


@pytest.mark.django_db(transaction=True)
def test_simultaneous_sales_and_refunds_leave_every_total_right(merchant, program, customer):
    pending = [
        Transaction.objects.create(merchant=merchant, customer=customer, amount=Decimal("7.00"), status="pending")
        for _ in range(THREADS)
    ]
    to_refund = [
        Transaction.objects.create(merchant=merchant, customer=customer, amount=Decimal("3.00"), status="completed")
        for _ in range(THREADS)
    ]
    start = threading.Barrier(THREADS)

    @in_thread
    def till(n):
        start.wait()
        for i in range(SALES_PER_THREAD):
            Transaction.objects.create(
                merchant=merchant, customer=customer, amount=Decimal(f"{10 + i}.50"), status="completed"
            )
        # every till tries to complete every pending sale and to refund its own: each completes once
        completed = sum(
            Transaction.objects.filter(pk=sale.pk, status="pending").update(status="completed") for sale in pending
        )
        Transaction.objects.filter(pk=to_refund[n].pk).update(status="refunded")
        return completed

    with ThreadPoolExecutor(THREADS) as pool:
        completions = list(pool.map(till, range(THREADS)))

    assert sum(completions) == THREADS
    sales_total = THREADS * sum(Decimal(f"{10 + i}.50") for i in range(SALES_PER_THREAD)) + THREADS * Decimal("7")
    points_total = THREADS * sum(10 + i for i in range(SALES_PER_THREAD)) + THREADS * 7
    account = account_of(customer, merchant)
    assert account.current_points == ledger_sum(account) == points_total
    assert account.total_spent == sales_total
    customer = Customer.objects.get(pk=customer.pk)
    assert (customer.total_spent, customer.total_transactions) == (sales_total, THREADS * (SALES_PER_THREAD + 1))
    assert CustomerVisit.objects.get(customer=customer).visit_count == THREADS * (SALES_PER_THREAD + 2)
    dashboard = MerchantDashboard.objects.get(merchant=merchant)
    assert (dashboard.today_transactions, dashboard.refund_count) == (THREADS * (SALES_PER_THREAD + 2), THREADS)
    assert derived_state_errors() == []
