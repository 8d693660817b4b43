"""Every URL that names an object answers 404 for another merchant's object."""

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from api.services import api_key_create
from customers.tests.factories import CustomerFactory
from loyalty.models import LoyaltyTier
from loyalty.tests.factories import LoyaltyProgramFactory
from merchants.models import MerchantStaff
from merchants.tests.factories import MerchantFactory, MerchantStaffFactory
from transactions.testing import complete_sale

# The Django admin, the password reset tokens, and the API (api/tests checks its isolation per key).
SKIPPED_PREFIXES = ("admin/", "accounts/", "api/")
# Public by design: a customer's card by its secret token, a merchant's join page by its code.
PUBLIC = {
    "card",
    "card_live_qr",
    "card_live",
    "card_code",
    "card_data",
    "card_new_link",
    "card_erase",
    "join",
    # The steps of joining and finding a card again: a signed link or a one-time code's id, no merchant's data.
    "join_confirm",
    "phone_code",
    "card_recover_confirm",
}


def patterns_with_ids(resolver=None, prefix=""):
    resolver = resolver or get_resolver()
    for entry in resolver.url_patterns:
        route = prefix + str(entry.pattern)
        if route.startswith(SKIPPED_PREFIXES):
            continue
        if isinstance(entry, URLResolver):
            yield from patterns_with_ids(entry, route)
        elif isinstance(entry, URLPattern) and "<" in route and entry.name not in PUBLIC:
            yield entry.name


@pytest.fixture
def someone_elses(db):
    """Objects of another merchant, by the URL name that shows them."""
    other = MerchantFactory()
    sale = complete_sale(merchant=other, customer=CustomerFactory())
    membership = MerchantStaffFactory(merchant=other, role=MerchantStaff.Role.CASHIER)
    key, _ = api_key_create(merchant=other, name="Their till", acting_user=membership.user)
    tier = LoyaltyTier.objects.create(program=LoyaltyProgramFactory(merchant=other), name="Gold", min_points=100)
    return {
        "transaction": ("get", sale.pk),
        "receipt": ("get", sale.pk),
        "transaction_refund": ("post", sale.pk),
        "customer_adjust": ("post", sale.customer_id),
        "customer_merge": ("get", sale.customer_id),
        "customer": ("get", sale.customer_id),
        "staff_deactivate": ("post", membership.pk),
        "api_key_revoke": ("post", key.pk),
        "tier_remove": ("post", tier.pk),
    }


def test_every_url_with_an_object_id_is_in_this_sweep(someone_elses):
    assert set(patterns_with_ids()) == set(someone_elses)


def test_another_merchants_objects_are_404_for_every_role(client, staff, someone_elses):
    for role, user in staff.items():
        client.force_login(user)
        for name, (method, pk) in someone_elses.items():
            response = getattr(client, method)(reverse(name, args=[pk]))
            assert response.status_code in (404, 403), (role, name, response.status_code)
            if role == "owner":
                assert response.status_code == 404, (name, response.status_code)


def test_a_customer_of_both_merchants_shows_only_this_merchants_figures(as_role, merchant, program, customer):
    other = MerchantFactory()
    complete_sale(merchant=other, customer=customer, amount="999.00")
    complete_sale(merchant=merchant, customer=customer, amount="12.00")
    page = as_role("owner").get(reverse("customer", args=[customer.pk])).content.decode()
    assert "$12.00" in page and "999" not in page


def test_nothing_of_another_merchant_leaks_into_lists(as_role, merchant, program):
    other = MerchantFactory()
    stranger = CustomerFactory(first_name="Zebedee")
    complete_sale(merchant=other, customer=stranger, amount="77.77")
    client = as_role("owner")
    for page in ("home", "transactions", "customers", "daily_analytics"):
        content = client.get(reverse(page)).content.decode()
        assert "Zebedee" not in content and "77.77" not in content, page
    csv = client.get(reverse("transactions"), {"_export": "csv"}).getvalue().decode()
    assert "Zebedee" not in csv


BAD_QUERIES = [
    ("transactions", {"per_page": "-1"}),
    ("transactions", {"per_page": "100000"}),
    ("transactions", {"page": "abc"}),
    ("transactions", {"page": "99999"}),
    ("transactions", {"sort": "nonsense"}),
    ("transactions", {"date_to": "9999-12-31"}),
    ("transactions", {"date_from": "0001-01-01"}),
    ("transactions", {"customer": "\x00"}),
    ("transactions", {"_export": "xlsx"}),
    ("customers", {"q": "a\x00b"}),
    ("customers", {"per_page": "0"}),
    ("customers", {"_export": "json"}),
    ("daily_analytics", {"date_to": "0001-01-01"}),
    ("daily_analytics", {"date_from": "0001-01-01"}),
    ("daily_analytics", {"date_from": "2999-01-01"}),
    ("home", {"days": "-7"}),
]


@pytest.mark.parametrize(("page", "query"), BAD_QUERIES)
def test_malformed_query_strings_never_end_in_a_500(as_role, merchant, program, customer, page, query):
    complete_sale(merchant=merchant, customer=customer)
    response = as_role("owner").get(reverse(page), query)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")


def test_pages_are_capped_at_a_hundred_rows(as_role, merchant, program, customer):
    for _ in range(3):
        complete_sale(merchant=merchant, customer=customer)
    table = as_role("owner").get(reverse("transactions"), {"per_page": "100000"}).context["table"]
    assert table.paginator.per_page == 100


def test_a_long_or_odd_login_is_refused_without_an_error(client, db):
    response = client.post(reverse("login"), {"username": "x" * 400 + "@shop.test", "password": "y"})
    assert response.status_code == 200


def test_failed_logins_count_for_the_email_in_any_case(client, staff, settings):
    for attempt in range(settings.LOGIN_THROTTLE_FREE_FAILURES):
        email = "OWNER@shop.test" if attempt % 2 else "owner@SHOP.test"
        client.post(reverse("login"), {"username": email, "password": "wrong"})
    response = client.post(reverse("login"), {"username": "Owner@Shop.Test", "password": "a-long-test-password"})
    assert response.status_code == 200 and "Too many failed logins for this email" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_not_found_and_not_allowed_pages_explain_themselves(as_role, someone_elses):
    client = as_role("cashier")
    missing = client.get(reverse("transaction", args=[someone_elses["transaction"][1]]))
    assert missing.status_code == 404 and "There is nothing here" in missing.content.decode()
    refused = client.get(reverse("customers"))
    assert refused.status_code == 403 and "This page is not for your role" in refused.content.decode()
