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


@pytest.fixture
def card_secret(customer):
    """The secret of `customer`'s card page link (only its hash is stored)."""
    from customers.services import card_link_issue

    return card_link_issue(customer=customer)


@pytest.fixture(autouse=True)
def sms_outbox(settings):
    """Text messages go to system.sms.outbox, emptied for each test, as Django's mail.outbox."""
    from system import sms

    settings.SMS_BACKEND = "system.sms.LocMemBackend"
    sms.outbox.clear()
    return sms.outbox


@pytest.fixture
def admin_client(admin_user):
    """pytest-django's admin_client, with the second factor given: platform admins need one."""
    from django.test import Client

    from merchants.tests.factories import login_verified

    return login_verified(Client(), admin_user)


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


@pytest.fixture
def superuser():
    """An autocommit connection to the test database as the embedded server's superuser, for what the owner role
    the tests run as may not do (drop an extension, create a role). What it changes stays: undo it."""
    import psycopg
    from django.db import connection

    from loyalty_site import embedded_db

    server = embedded_db.ensure_server(connection.settings_dict["DATA_DIR"])
    with psycopg.connect(**server.login(), dbname=connection.settings_dict["NAME"], autocommit=True) as conn:
        yield conn
