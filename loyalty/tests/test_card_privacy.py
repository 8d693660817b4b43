"""The card page's privacy actions: the customer's data as JSON (no secret in it), a new link that ends the old
one, a request to erase that an operator then confirms; and an erasure that keeps the shops' ledger sound."""

import json

import pytest
from django.test import Client
from django.urls import reverse

from customers.models import Customer, ErasureRequest
from customers.services import customer_erase, erasure_request_confirm
from customers.tokens import card_secret_hash
from loyalty.card_privacy_views import POSTS_PER_HOUR
from loyalty.integrity import derived_state_errors, ledger_errors
from loyalty.models import PointsTransaction
from loyalty.testing import account_of
from system.testing import sql

pytestmark = pytest.mark.django_db


def sale(merchant, customer, amount):
    """A completed sale written in SQL (the transactions app is above this one); the triggers do the rest."""
    sql(
        "INSERT INTO transactions (merchant_id, customer_id, amount, status, completed_at)"
        " VALUES (%s, %s, %s, 'completed', now())",
        [merchant.pk, customer.pk, amount],
    )


@pytest.fixture
def shopper(merchant, program, customer):
    sale(merchant, customer, "25.00")
    sale(merchant, customer, "10.50")
    PointsTransaction.objects.create(
        customer_loyalty_account=account_of(customer, merchant), transaction_type="adjust", points_change=3,
        description="Birthday bonus",
    )  # fmt: skip
    return customer


def test_the_card_page_offers_the_actions(client, card_secret):
    page = client.get(reverse("card", args=[card_secret])).content.decode()
    for name in ("card_data", "card_new_link", "card_erase"):
        assert reverse(name, args=[card_secret]) in page


def test_download_my_data(client, merchant, shopper, card_secret):
    response = client.get(reverse("card_data", args=[card_secret]))
    assert response.status_code == 200 and response["Content-Type"].startswith("application/json")
    assert response["Content-Disposition"].startswith("attachment;")
    assert "no-cache" in response["Cache-Control"] and "no-store" in response["Cache-Control"]
    text = response.content.decode()
    assert card_secret not in text and card_secret_hash(card_secret) not in text
    data = json.loads(text)
    assert data["customer"]["email"] == shopper.email and data["customer"]["first_name"] == shopper.first_name
    assert "card_token_hash" not in data["customer"]
    [account] = data["accounts"]
    assert account["merchant"] == merchant.business_name and account["points"] == 25 + 10 + 3
    assert [s["amount"] for s in data["sales"]] == ["10.50", "25.00"]  # newest first
    first = data["sales"][0]
    assert first["currency"] and first["status"] == "completed" and first["points_earned"] == 10
    assert first["time"][-6] in "+-"  # ISO 8601 with the offset
    assert [p["type"] for p in data["points"]] == ["adjust", "earn", "earn"]
    assert data["points"][0]["description"] == "Birthday bonus"
    assert sum(v["visits"] for v in data["visits"]) == 2
    assert data["truncated"] == [] and data["limit_per_list"] >= 1000


def test_a_new_link_ends_the_old_one(client, customer, card_secret):
    response = client.post(reverse("card_new_link", args=[card_secret]))
    assert response.status_code == 302
    new = response["Location"].split("/")[2]
    page = client.get(response["Location"])
    assert page.status_code == 200 and "old link no longer works" in page.content.decode()
    assert new != card_secret and client.get(reverse("card", args=[card_secret])).status_code == 404
    assert client.post(reverse("card_new_link", args=[card_secret])).status_code == 404


def test_a_merged_cards_new_link_goes_to_the_card_it_was_merged_into(client, customer, card_secret):
    from customers.tests.factories import CustomerFactory

    survivor = CustomerFactory()
    Customer.objects.filter(pk=customer.pk).update(status="merged", merged_into=survivor)
    response = client.post(reverse("card_new_link", args=[card_secret]))
    survivor.refresh_from_db()
    assert survivor.card_token_hash == card_secret_hash(response["Location"].split("/")[2])
    assert Customer.objects.get(pk=customer.pk).card_token_hash is None


def test_the_posts_need_csrf_and_a_get_changes_nothing(customer, card_secret):
    strict = Client(enforce_csrf_checks=True)
    assert strict.post(reverse("card_new_link", args=[card_secret])).status_code == 403
    assert strict.post(reverse("card_erase", args=[card_secret])).status_code == 403
    assert strict.get(reverse("card_new_link", args=[card_secret])).status_code == 405
    assert strict.get(reverse("card", args=[card_secret])).status_code == 200
    assert not ErasureRequest.objects.exists()


def test_asking_to_erase_says_what_it_does_then_records_one_request(client, customer, card_secret):
    url = reverse("card_erase", args=[card_secret])
    page = client.get(url).content.decode()
    assert "your points are lost" in page and "without your name" in page
    assert not ErasureRequest.objects.exists()
    first = client.post(url)
    assert first.status_code == 200 and "An operator will confirm it" in first.content.decode()
    second = client.post(url)
    assert second.status_code == 200 and "An operator will confirm it" in second.content.decode()
    [request] = ErasureRequest.objects.all()
    assert request.status == "pending" and request.customer_id == customer.pk
    # The operator confirms it in the admin (customers' tests); then the link is gone.
    erasure_request_confirm(erasure_request=request, acting_user=None)
    assert client.get(reverse("card", args=[card_secret])).status_code == 404
    assert client.get(reverse("card_data", args=[card_secret])).status_code == 404


def test_the_posts_are_rate_limited_per_card(client, customer, card_secret):
    url = reverse("card_erase", args=[card_secret])
    for _ in range(POSTS_PER_HOUR):
        assert client.post(url).status_code == 200
    assert client.post(url).status_code == 429
    assert client.post(reverse("card_new_link", args=[card_secret])).status_code == 429
    assert ErasureRequest.objects.count() == 1


def test_erasure_keeps_the_ledger_the_totals_and_the_visits_sound(merchant, shopper):
    shopper.refresh_from_db()
    account = account_of(shopper, merchant)
    account.shares_email = account.shares_phone = True
    account.save(update_fields=["shares_email", "shares_phone"])
    before = (account.current_points, shopper.total_spent, shopper.total_transactions)
    customer_erase(customer=shopper, acting_user=None, reason="Their request")
    account.refresh_from_db()
    shopper.refresh_from_db()
    assert (account.current_points, shopper.total_spent, shopper.total_transactions) == before
    assert not account.shares_email and not account.shares_phone
    assert sql("SELECT count(*) FROM transactions WHERE customer_id = %s", [shopper.pk]) == [(2,)]
    assert ledger_errors() == [] and derived_state_errors() == []
