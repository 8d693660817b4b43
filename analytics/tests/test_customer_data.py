"""The customer's data download's lists are cut at a limit, newest first, and say so."""

import pytest

from analytics.customer_data import customer_data
from transactions.testing import complete_sale

pytestmark = pytest.mark.django_db


def test_each_list_is_cut_at_the_limit_and_says_so(merchant, program, customer):
    for amount in ("1.00", "2.00", "3.00"):
        complete_sale(merchant=merchant, customer=customer, amount=amount)
    data = customer_data(customer, limit=2)
    assert [sale["amount"] for sale in data["sales"]] == ["3.00", "2.00"]
    assert len(data["points"]) == 2 and data["truncated"] == ["sales", "points"]
    assert len(data["visits"]) == 1 and data["limit_per_list"] == 2
