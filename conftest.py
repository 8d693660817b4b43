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


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def staff(merchant):
    """An owner, a manager and a cashier of `merchant`, by role."""
    from merchants.models import MerchantStaff, User

    people = {}
    for role in MerchantStaff.Role.values:
        people[role] = User.objects.create_user(f"{role}@shop.test", "a-long-test-password")
        MerchantStaff.objects.create(merchant=merchant, user=people[role], role=role)
    return people


@pytest.fixture
def as_role(client, staff):
    """as_role("owner") -> the test client, logged in as that role."""

    def login(role):
        client.force_login(staff[role])
        return client

    return login
