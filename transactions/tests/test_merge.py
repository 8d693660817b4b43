"""Merging two customers who are the same person (merge_customers(), transactions/services/merge.py)."""

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from customers.models import Customer
from customers.tests.factories import CustomerFactory
from loyalty.integrity import derived_state_errors
from loyalty.models import CustomerLoyaltyAccount, PointsLot, PointsTransaction
from loyalty.testing import account_of
from loyalty.tests.factories import LoyaltyProgramFactory
from merchants.models import User
from merchants.tests.factories import MerchantFactory
from system.models import AuditLog
from transactions.models import CustomerMerge, Transaction
from transactions.services.merge import MergeError, customers_merge, members_merge
from transactions.services.refunds import transaction_refund
from transactions.testing import complete_sale


def points_total() -> int:
    return sum(CustomerLoyaltyAccount.objects.values_list("current_points", flat=True))


def open_expiries(account) -> list:
    return sorted(
        PointsLot.objects.filter(customer_loyalty_account=account, remaining__gt=0).values_list(
            "remaining", "expires_at"
        )
    )


@pytest.fixture
def admin_user(db):
    return User.objects.create_superuser("admin@platform.test", "a-long-test-password")


@pytest.fixture
def expiring_program(merchant):
    return LoyaltyProgramFactory(merchant=merchant, points_per_dollar=Decimal("1"), points_expiry_days=365)


def test_platform_merge_moves_accounts_sales_visits_and_points(merchant, expiring_program, admin_user):
    other = MerchantFactory()
    LoyaltyProgramFactory(merchant=other, points_per_dollar=Decimal("2"))
    source = CustomerFactory(phone="+14155550101")
    target = CustomerFactory(email=None)
    complete_sale(merchant=merchant, customer=source, amount="30.00")
    complete_sale(merchant=merchant, customer=source, amount="20.00")
    complete_sale(merchant=merchant, customer=target, amount="40.00")
    complete_sale(merchant=other, customer=source, amount="15.00")  # the target has no account there
    source_lots = open_expiries(account_of(source, merchant))
    target_lots = open_expiries(account_of(target, merchant))
    before = points_total()
    source_email = source.email

    merge = customers_merge(source=source, target=target, acting_user=admin_user)

    source.refresh_from_db()
    target.refresh_from_db()
    assert (source.status, source.merged_into_id) == ("merged", target.pk)
    assert (target.email, target.phone) == (source_email, "+14155550101")
    assert (source.email, source.phone) == (None, "")
    assert (target.total_spent, target.total_transactions) == (Decimal("105.00"), 4)
    assert (source.total_spent, source.total_transactions) == (0, 0)
    assert points_total() == before
    here = account_of(target, merchant)
    assert here.current_points == 90
    assert open_expiries(here) == sorted(target_lots + source_lots)  # the moved lots keep their expiry
    assert account_of(target, other).current_points == 30  # the account itself moved
    assert not Transaction.objects.filter(customer=source).exists()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT customer_id = %s, visit_count FROM customer_visits"
            " WHERE merchant_id = %s AND customer_id IN (%s, %s)",
            [target.pk, merchant.pk, source.pk, target.pk],
        )
        assert cursor.fetchall() == [(True, 3)]  # the source's visit of the day is added to the target's
    assert derived_state_errors() == []
    # Audited: the merge's row and the source's change, by the admin.
    assert AuditLog.objects.filter(table_name="customer_merges", record_id=merge.pk, user=admin_user).exists()
    assert AuditLog.objects.filter(
        table_name="customers", record_id=source.pk, action="UPDATE", new_values__status="merged", user=admin_user
    ).exists()
    assert merge.merchant_id is None and merge.created_by == admin_user


def test_a_refund_of_a_sale_before_a_merge_that_moved_its_account_is_exact(merchant, program, admin_user, staff):
    source, target = CustomerFactory(), CustomerFactory()
    sale = complete_sale(merchant=merchant, customer=source, amount="50.00")  # 50 points
    customers_merge(source=source, target=target, acting_user=admin_user)
    refunded = transaction_refund(
        merchant=merchant, transaction_id=sale.pk, acting_user=staff["manager"], amount=Decimal("20.00")
    )
    assert refunded.points_reversed == 20
    assert account_of(target, merchant).current_points == 30
    assert derived_state_errors() == []


def test_a_refund_of_a_sale_before_the_merge_is_exact_after_it(merchant, program, admin_user, staff):
    source, target = CustomerFactory(), CustomerFactory()
    sale = complete_sale(merchant=merchant, customer=source, amount="50.00")  # 50 points
    complete_sale(merchant=merchant, customer=target, amount="10.00")
    customers_merge(source=source, target=target, acting_user=admin_user)
    assert account_of(target, merchant).current_points == 60

    refunded = transaction_refund(
        merchant=merchant, transaction_id=sale.pk, acting_user=staff["manager"], amount=Decimal("20.00")
    )
    assert refunded.points_reversed == 20
    assert account_of(target, merchant).current_points == 40
    transaction_refund(merchant=merchant, transaction_id=sale.pk, acting_user=staff["manager"])
    target.refresh_from_db()
    assert account_of(target, merchant).current_points == 10
    assert (target.total_spent, target.total_transactions) == (Decimal("10.00"), 1)
    assert derived_state_errors() == []


def test_owner_merge_combines_only_that_merchants_accounts(merchant, expiring_program, staff):
    other = MerchantFactory()
    LoyaltyProgramFactory(merchant=other)
    source, target = CustomerFactory(), CustomerFactory()
    for day in (3, 1):  # the source came first; both came on day 1
        complete_sale(
            merchant=merchant, customer=source, amount="25.00", completed_at=timezone.now() - timedelta(days=day)
        )
    complete_sale(merchant=merchant, customer=target, amount="10.00", completed_at=timezone.now() - timedelta(days=1))
    complete_sale(merchant=other, customer=source, amount="5.00")
    before = points_total()
    lots = open_expiries(account_of(source, merchant)) + open_expiries(account_of(target, merchant))

    merge = members_merge(merchant=merchant, source=source, target=target, acting_user=staff["owner"])

    source.refresh_from_db()
    target.refresh_from_db()
    assert source.status == "active" and source.merged_into_id is None
    assert account_of(source, merchant).current_points == 0
    assert account_of(target, merchant).current_points == 60
    assert open_expiries(account_of(target, merchant)) == sorted(lots)
    assert account_of(source, other).current_points == 5  # elsewhere it stays the source's
    assert points_total() == before
    assert (source.total_spent, source.total_transactions) == (Decimal("5.00"), 1)
    assert (target.total_spent, target.total_transactions) == (Decimal("60.00"), 3)
    assert PointsTransaction.objects.filter(description__startswith="Merged").count() == 3
    assert merge.merchant == merchant and merge.created_by == staff["owner"]
    assert derived_state_errors() == []


@pytest.mark.parametrize(
    "case, message",
    [
        ("itself", "cannot be merged into itself"),
        ("merged source", "is merged already"),
        ("merged target", "is merged: merge into a customer that is not"),
        ("erased target", "is erased"),
    ],
)
def test_refused_merges_change_nothing_and_say_why(merchant, program, admin_user, case, message):
    source, target, third = CustomerFactory(), CustomerFactory(), CustomerFactory()
    complete_sale(merchant=merchant, customer=source, amount="10.00")
    if case == "itself":
        target = source
    elif case == "merged source":
        customers_merge(source=source, target=third, acting_user=admin_user)
        source.refresh_from_db()
    elif case == "merged target":
        customers_merge(source=target, target=third, acting_user=admin_user)
        target.refresh_from_db()
    else:
        Customer.objects.filter(pk=target.pk).update(status="erased", email=None)
    merges = CustomerMerge.objects.count()
    sales = sorted(Transaction.objects.values_list("id", "customer_id"))
    with pytest.raises(MergeError, match=message):
        customers_merge(source=source, target=target, acting_user=admin_user)
    assert CustomerMerge.objects.count() == merges
    assert sorted(Transaction.objects.values_list("id", "customer_id")) == sales


def test_owner_merge_needs_both_members(merchant, program, staff):
    source, target = CustomerFactory(), CustomerFactory()
    complete_sale(merchant=merchant, customer=source)
    with pytest.raises(MergeError, match="Both customers must be members here"):
        members_merge(merchant=merchant, source=source, target=target, acting_user=staff["owner"])
    assert not CustomerMerge.objects.exists()


def test_the_guards_refuse_moving_a_sale_or_an_account_outside_a_merge(merchant, program):
    source, target = CustomerFactory(), CustomerFactory()
    sale = complete_sale(merchant=merchant, customer=source)
    with pytest.raises(IntegrityError, match="cannot move to another merchant, customer"), transaction.atomic():
        Transaction.objects.filter(pk=sale.pk).update(customer=target)
    with pytest.raises(IntegrityError, match="cannot move to another customer"), transaction.atomic():
        CustomerLoyaltyAccount.objects.filter(customer=source).update(customer=target)


def test_a_merged_customer_cannot_buy(merchant, program, admin_user):
    source, target = CustomerFactory(), CustomerFactory()
    customers_merge(source=source, target=target, acting_user=admin_user)
    with pytest.raises(IntegrityError, match="was merged into another customer"):
        complete_sale(merchant=merchant, customer=source)


def in_thread(work):
    def run(*args):
        try:
            return work(*args)
        finally:
            connection.close()

    return run


@pytest.mark.django_db(transaction=True)
def test_merges_at_once_neither_deadlock_nor_move_twice(merchant, program, admin_user):
    people = [CustomerFactory() for _ in range(4)]
    for person in people:
        complete_sale(merchant=merchant, customer=person, amount="10.00")
    a, b, c, d = people
    # a->b and b->a at once: one wins, the other finds a merged customer; c->d twice: one moves, one refuses.
    pairs = [(a, b), (b, a), (c, d), (c, d)]
    start = threading.Barrier(len(pairs))

    @in_thread
    def merge(pair):
        start.wait()
        try:
            customers_merge(source=pair[0], target=pair[1], acting_user=admin_user)
        except MergeError as error:
            return str(error)
        return "merged"

    with ThreadPoolExecutor(len(pairs)) as pool:
        outcomes = list(pool.map(merge, pairs))
    assert outcomes[:2].count("merged") == 1 and outcomes[2:].count("merged") == 1
    assert all("merged" in outcome for outcome in outcomes)
    assert points_total() == 40
    assert CustomerMerge.objects.count() == 2
    assert derived_state_errors() == []


@pytest.mark.django_db(transaction=True)
def test_a_merge_racing_a_sale_and_a_refund(merchant, program, admin_user, staff):
    source, target = CustomerFactory(), CustomerFactory()
    first = complete_sale(merchant=merchant, customer=source, amount="40.00")
    complete_sale(merchant=merchant, customer=target, amount="10.00")
    start = threading.Barrier(3)

    @in_thread
    def merge():
        start.wait()
        customers_merge(source=source, target=target, acting_user=admin_user)
        return "merged"

    @in_thread
    def refund():
        start.wait()
        transaction_refund(
            merchant=merchant, transaction_id=first.pk, acting_user=staff["manager"], amount=Decimal("10.00")
        )
        return "refunded"

    @in_thread
    def sale():
        start.wait()
        try:
            complete_sale(merchant=merchant, customer=source, amount="5.00")
        except IntegrityError:
            return "refused"
        return "sold"

    with ThreadPoolExecutor(3) as pool:
        outcomes = [f.result() for f in [pool.submit(merge), pool.submit(refund), pool.submit(sale)]]
    assert outcomes[:2] == ["merged", "refunded"]
    assert outcomes[2] in ("sold", "refused")
    assert not Transaction.objects.filter(customer=source).exists()  # moved before the merge, or refused after
    assert derived_state_errors() == []


def test_a_merge_moves_the_earned_and_redeemed_totals_and_a_later_give_back_is_exact(
    merchant, expiring_program, admin_user, staff
):
    source, target = CustomerFactory(), CustomerFactory()
    complete_sale(merchant=merchant, customer=source, amount="300.00")  # 300 points
    paid = complete_sale(merchant=merchant, customer=source, amount="20.00", points_redeemed=100)  # earns 19
    complete_sale(merchant=merchant, customer=target, amount="10.00")
    lots = open_expiries(account_of(source, merchant)) + open_expiries(account_of(target, merchant))

    customers_merge(source=source, target=target, acting_user=admin_user)

    here = account_of(target, merchant)
    assert (here.current_points, here.total_points_earned, here.total_points_redeemed) == (229, 329, 100)
    gone = account_of(source, merchant)
    assert (gone.current_points, gone.total_points_earned, gone.total_points_redeemed) == (0, 0, 0)
    assert open_expiries(here) == sorted(lots)  # the totals' rows leave the lots as they were
    assert derived_state_errors() == []

    refunded = transaction_refund(merchant=merchant, transaction_id=paid.pk, acting_user=staff["manager"])
    assert (refunded.points_returned, refunded.points_reversed) == (100, 19)
    here = account_of(target, merchant)
    assert (here.current_points, here.total_points_earned, here.total_points_redeemed) == (310, 310, 0)
    assert derived_state_errors() == []


def test_merge_totals_rows_are_written_by_a_merge_only(merchant, program):
    customer = CustomerFactory()
    complete_sale(merchant=merchant, customer=customer, amount="10.00")
    with pytest.raises(IntegrityError, match="written by a merge"), transaction.atomic():
        PointsTransaction.objects.create(
            customer_loyalty_account=account_of(customer, merchant), transaction_type="merge_earned", points_change=5
        )


@pytest.mark.parametrize("history", ["expired", "bonus"])
def test_totals_move_when_the_balance_is_not_earned_less_redeemed(merchant, expiring_program, admin_user, history):
    source, target = CustomerFactory(), CustomerFactory()
    complete_sale(merchant=merchant, customer=target, amount="10.00")
    if history == "expired":  # earned 70, 50 of them expired: 20 left
        complete_sale(merchant=merchant, customer=source, amount="50.00")
        PointsLot.objects.filter(customer_loyalty_account=account_of(source, merchant)).update(
            expires_at=timezone.now() - timedelta(seconds=1)
        )
        with connection.cursor() as cursor:
            cursor.execute("SELECT expire_points()")
        complete_sale(merchant=merchant, customer=source, amount="20.00")
    else:  # 300 points given, 150 redeemed, 9 earned: redeemed more than earned
        complete_sale(merchant=merchant, customer=source, amount="1.00")
        PointsTransaction.objects.create(
            customer_loyalty_account=account_of(source, merchant), transaction_type="adjust", points_change=300
        )
        complete_sale(merchant=merchant, customer=source, amount="10.00", points_redeemed=150)
    moved = account_of(source, merchant)
    lots = open_expiries(moved) + open_expiries(account_of(target, merchant))
    before = account_of(target, merchant)

    customers_merge(source=source, target=target, acting_user=admin_user)

    here = account_of(target, merchant)
    assert (here.current_points, here.total_points_earned, here.total_points_redeemed) == (
        before.current_points + moved.current_points,
        before.total_points_earned + moved.total_points_earned,
        before.total_points_redeemed + moved.total_points_redeemed,
    )
    assert open_expiries(here) == sorted(lots)
    assert derived_state_errors() == []


def test_a_refund_after_the_moved_lot_expired_writes_off_what_expired(merchant, expiring_program, admin_user, staff):
    source, target = CustomerFactory(), CustomerFactory()
    sale = complete_sale(merchant=merchant, customer=source, amount="50.00")  # 50 points
    complete_sale(merchant=merchant, customer=target, amount="10.00")
    complete_sale(merchant=merchant, customer=source, amount="5.00")
    customers_merge(source=source, target=target, acting_user=admin_user)
    here = account_of(target, merchant)
    moved = PointsTransaction.objects.get(customer_loyalty_account=here, transaction_type="merge_lot", points_change=50)
    assert moved.lot.entry.transaction_id == sale.pk  # the row names the lot it came from
    PointsLot.objects.filter(entry=moved).update(expires_at=timezone.now() - timedelta(seconds=1))
    with connection.cursor() as cursor:
        cursor.execute("SELECT expire_points()")
    assert account_of(target, merchant).current_points == 15

    refunded = transaction_refund(merchant=merchant, transaction_id=sale.pk, acting_user=staff["manager"])

    assert (refunded.points_reversed, refunded.points_shortfall) == (0, 50)  # expired: written off
    assert account_of(target, merchant).current_points == 15
    assert derived_state_errors() == []


def test_a_take_back_after_a_merge_uses_the_sales_moved_lot_first(merchant, expiring_program, admin_user, staff):
    source, target = CustomerFactory(), CustomerFactory()
    complete_sale(merchant=merchant, customer=target, amount="10.00", completed_at=timezone.now() - timedelta(days=2))
    sale = complete_sale(merchant=merchant, customer=source, amount="50.00")
    customers_merge(source=source, target=target, acting_user=admin_user)

    transaction_refund(merchant=merchant, transaction_id=sale.pk, acting_user=staff["manager"], amount=Decimal("20.00"))

    here = account_of(target, merchant)
    open_lots = PointsLot.objects.filter(customer_loyalty_account=here, remaining__gt=0)
    assert sorted(open_lots.values_list("entry__transaction_type", "points", "remaining")) == [
        ("earn", 10, 10),  # the target's own older lot stays whole
        ("merge_lot", 50, 30),
    ]
    assert derived_state_errors() == []
