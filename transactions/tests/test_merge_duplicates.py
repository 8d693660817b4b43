"""manage.py merge_duplicate_customers: the customers who shared a phone before phones were unique."""

from io import StringIO

import pytest
from django.core.management import call_command

from customers.models import Customer, PhoneDuplicate
from customers.tests.factories import CustomerFactory
from loyalty.testing import account_of
from transactions.models import CustomerMerge
from transactions.testing import complete_sale


def run(*args) -> str:
    out = StringIO()
    call_command("merge_duplicate_customers", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def pairs(merchant, program):
    """A clear pair (same names but for case and spaces, one email missing) and one with two different emails."""
    kept = CustomerFactory(first_name="Mary Ann", last_name="Smith", phone="+14155550101", email="mary@example.test")
    twin = CustomerFactory(first_name=" mary  ann", last_name="SMITH", phone="", email=None)
    PhoneDuplicate.objects.create(customer=twin, phone="+14155550101", same_phone_as=kept)
    other_kept = CustomerFactory(first_name="Jo", last_name="Lee", phone="+14155550102", email="jo@example.test")
    other = CustomerFactory(first_name="Jo", last_name="Lee", phone="", email="jo.lee@example.test")
    PhoneDuplicate.objects.create(customer=other, phone="+14155550102", same_phone_as=other_kept)
    complete_sale(merchant=merchant, customer=twin, amount="20.00")
    complete_sale(merchant=merchant, customer=kept, amount="5.00")
    return {"kept": kept, "twin": twin, "other_kept": other_kept, "other": other}


def test_without_apply_it_only_lists(pairs):
    out = run()
    assert f"Would merge {pairs['twin'].customer_code}" in out
    assert "To decide (two different emails)" in out and pairs["other"].customer_code in out
    assert "Merge into another customer" in out  # how to merge by hand
    assert not CustomerMerge.objects.exists() and PhoneDuplicate.objects.count() == 2


def test_apply_merges_the_clear_pair_keeps_the_other_and_a_second_run_does_nothing(merchant, pairs):
    out = run("--apply")
    assert f"Merged {pairs['twin'].customer_code}" in out
    assert "1 pair(s) merged, 1 to decide by hand." in out
    twin = Customer.objects.get(pk=pairs["twin"].pk)
    assert (twin.status, twin.merged_into_id) == ("merged", pairs["kept"].pk)
    assert account_of(pairs["kept"], merchant).current_points == 25
    merge = CustomerMerge.objects.get()
    assert merge.created_by is None and merge.merchant is None
    assert list(PhoneDuplicate.objects.values_list("customer_id", flat=True)) == [pairs["other"].pk]
    assert Customer.objects.get(pk=pairs["other"].pk).status == "active"

    again = run("--apply")
    assert "0 pair(s) merged, 1 to decide by hand." in again
    assert CustomerMerge.objects.count() == 1 and PhoneDuplicate.objects.count() == 1


def test_a_refused_merge_is_listed_and_kept(pairs):
    Customer.objects.filter(pk=pairs["kept"].pk).update(status="erased", email=None)
    out = run("--apply")
    assert "the merge was refused" in out and "is erased" in out
    assert not CustomerMerge.objects.exists() and PhoneDuplicate.objects.count() == 2
