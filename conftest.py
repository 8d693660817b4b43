from decimal import Decimal

import pytest

from customers.tests.factories import CustomerFactory
from loyalty.tests.factories import LoyaltyProgramFactory
from merchants.tests.factories import MerchantFactory


@pytest.fixture
def merchant(db):
    return MerchantFactory()


@pytest.fixture
def program(merchant):
    return LoyaltyProgramFactory(merchant=merchant, points_per_dollar=Decimal("1"))


@pytest.fixture
def customer(db):
    return CustomerFactory()
