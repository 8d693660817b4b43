"""The customers table and a customer's summary page (analytics/member_views.py)."""

import csv
import io

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from customers.tests.factories import CustomerFactory
from loyalty.models import CustomerLoyaltyAccount
from transactions.testing import complete_sale


@pytest.fixture
def members(merchant, program):
    ada = CustomerFactory(first_name="Ada", last_name="Lovelace", email="ada@example.test", phone="+442079461234")
    alan = CustomerFactory(first_name="Alan", last_name="Turing", email="alan@example.test")
    complete_sale(merchant=merchant, customer=ada, amount="30.00")
    complete_sale(merchant=merchant, customer=alan, amount="10.00")
    # They gave this merchant their email and phone when they joined (a sale alone shares neither).
    CustomerLoyaltyAccount.objects.filter(merchant=merchant).update(shares_email=True, shares_phone=True)
    CustomerFactory(first_name="Never", last_name="Bought")  # not a member here
    return {"ada": ada, "alan": alan}


def names(response):
    return [row.record.first_name for row in response.context["table"].page.object_list]


def test_members_by_points_with_their_figures_here(as_role, members):
    response = as_role("manager").get(reverse("customers"))
    assert names(response) == ["Ada", "Alan"]
    page = response.content.decode()
    assert "$30.00" in page and "Never" not in page


@pytest.mark.parametrize(
    ("search", "expected"),
    [
        ("ada", ["Ada"]),
        ("TURING", ["Alan"]),
        ("alan@example", ["Alan"]),
        ("79461234", ["Ada"]),
        ("nobody", []),
    ],
)
def test_search_by_name_email_phone(as_role, members, search, expected):
    assert names(as_role("owner").get(reverse("customers"), {"q": search})) == expected


def test_a_member_who_came_by_a_sale_shows_no_contact_and_no_whole_code(as_role, merchant, program):
    """The customer presented their card at the counter: this merchant has their name and their points here, not
    their email, their phone or their printed code (which would spend their points at other shops)."""
    grace = CustomerFactory(first_name="Grace", last_name="Hopper", email="grace@example.test", phone="+14155550100")
    complete_sale(merchant=merchant, customer=grace, amount="12.00")
    client = as_role("owner")
    for page in (
        client.get(reverse("customers")).content.decode(),
        client.get(reverse("customers"), {"_export": "csv"}).getvalue().decode(),
        client.get(reverse("customer", args=[grace.pk])).content.decode(),
        client.get(reverse("transactions")).content.decode(),
        client.get(reverse("transactions"), {"_export": "csv"}).getvalue().decode(),
    ):
        assert "Grace" in page and grace.customer_code[-4:] in page
        assert "grace@example.test" not in page and "5550100" not in page and grace.customer_code not in page
    assert names(client.get(reverse("customers"), {"q": "grace@example"})) == []
    assert not client.get(reverse("transactions"), {"customer": "grace@example"}).context["table"].page.object_list


def test_search_by_code(as_role, members):
    code = members["alan"].customer_code
    assert names(as_role("owner").get(reverse("customers"), {"q": code.lower()})) == ["Alan"]


def test_csv_export_of_the_search(as_role, members):
    response = as_role("owner").get(reverse("customers"), {"q": "ada", "_export": "csv"})
    [row] = list(csv.DictReader(io.StringIO(response.getvalue().decode())))
    assert (row["Name"], row["Points"], row["Spent here"], row["Status"]) == ("Ada Lovelace", "30", "30.00", "active")


def test_the_list_takes_the_same_number_of_queries_for_any_page_size(as_role, merchant, program):
    client = as_role("owner")
    for _ in range(12):
        complete_sale(merchant=merchant, customer=CustomerFactory())
    counts = []
    for per_page in (3, 12):
        with CaptureQueriesContext(connection) as queries:
            response = client.get(reverse("customers"), {"per_page": per_page})
        assert len(response.context["table"].page.object_list) == per_page
        counts.append(len(queries))
        # no COUNT(*) of the merchant's members: the page costs the same whatever their number
        assert not [q for q in queries.captured_queries if "COUNT(" in q["sql"].upper()]
    assert counts[0] == counts[1] <= 6


def test_the_summary_shows_figures_chart_ledger_and_qr(as_role, members):
    client = as_role("owner")
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("customer", args=[members["ada"].pk]))
    page = response.content.decode()
    assert response.status_code == 200
    assert members["ada"].customer_code not in page and f"•••• {members['ada'].customer_code[-4:]}" in page
    assert "ada@example.test" in page and "+44 20 7946 1234" in page
    assert 'data-chart="chart-activity"' in page and "Earned on a purchase of 30.00 USD" in page
    assert len(queries) <= 8


def test_a_customer_who_is_not_a_member_here_is_404(as_role, members):
    from customers.models import Customer

    outsider = Customer.objects.get(first_name="Never")
    assert as_role("owner").get(reverse("customer", args=[outsider.pk])).status_code == 404


def test_an_empty_merchant_gets_a_friendly_empty_state(as_role):
    page = as_role("owner").get(reverse("customers")).content.decode()
    assert "No members yet" in page


# The program's tiers and the points that expire soon, on a member's page


def test_an_owner_adds_and_removes_tiers_and_the_customer_pages_show_them(as_role, merchant, program, customer):
    from loyalty.models import LoyaltyTier

    client = as_role("owner")
    response = client.post(
        reverse("tier_add"), {"tier-name": "Gold", "tier-min_points": "50", "tier-multiplier": "1.5"}, follow=True
    )
    assert "Tier Gold added." in response.content.decode()
    response = client.post(reverse("tier_add"), {"tier-name": "Gold", "tier-min_points": "80", "tier-multiplier": "2"})
    assert response.status_code == 422
    page = response.content.decode()
    assert "There is a tier named Gold already." in page
    assert 'name="name" value="Rewards"' in page  # the program's form keeps the program's rules
    response = client.post(
        reverse("tier_add"), {"tier-name": "Platinum", "tier-min_points": "90", "tier-multiplier": "11"}
    )
    assert "From 1 to 10." in response.content.decode()
    response = client.post(
        reverse("tier_add"), {"tier-name": " gold ", "tier-min_points": "70", "tier-multiplier": "2"}
    )
    assert "There is a tier named gold already." in response.content.decode()
    assert list(LoyaltyTier.objects.values_list("name", flat=True)) == ["Gold"]
    changes = client.get(reverse("program")).content.decode()
    assert "tier Gold added (50+ points, ×1.50)" in changes

    complete_sale(merchant=merchant, customer=customer, amount="60.00")
    page = client.get(reverse("customer", args=[customer.pk])).content.decode()
    assert 'id="member-tier"' in page and "tier <strong>Gold</strong>, ×1.50 points per sale" in page

    tier = LoyaltyTier.objects.get()
    assert "Tier removed." in client.post(reverse("tier_remove", args=[tier.pk]), follow=True).content.decode()
    assert not LoyaltyTier.objects.exists()
    assert client.post(reverse("tier_remove", args=[tier.pk])).status_code == 404


def test_the_customer_page_warns_of_points_that_expire_soon(as_role, merchant, program, customer):
    from system.testing import sql

    program.points_expiry_days = 365
    program.save()
    complete_sale(merchant=merchant, customer=customer, amount="40.00")
    sql("UPDATE points_lots SET expires_at = now() + interval '3 days'")
    page = as_role("owner").get(reverse("customer", args=[customer.pk])).content.decode()
    assert 'id="member-expiring"' in page and "40 points expire in the next 30 days, the first on" in page
