"""The customer's card page by its secret link, and joining a merchant's program from its poster."""

import re

import pytest
from django.core import mail
from django.urls import reverse

from customers import tokens
from customers.models import Customer
from loyalty.models import CustomerLoyaltyAccount
from merchants.tests.factories import MerchantFactory
from system.testing import clear_jobs, run_jobs


def test_the_card_is_reached_by_its_secret_not_by_the_customer_code(client, customer):
    assert client.get(f"/card/{customer.customer_code}/").status_code == 404
    assert client.get(reverse("card", args=["0" * 64])).status_code == 404
    assert client.get(f"/card/%00{customer.card_token[1:]}/").status_code == 404
    assert client.get(f"/card/{customer.card_token}/code.exe").status_code == 404


def test_the_live_code_is_a_card_token_that_changes(client, customer):
    svg = client.get(reverse("card_live_qr", args=[customer.card_token]))
    assert svg["Content-Type"] == "image/svg+xml" and "no-cache" in svg["Cache-Control"]
    assert tokens.is_card_token(tokens.card_token(customer.pk))


@pytest.mark.parametrize(
    ("fmt", "content_type", "magic"), [("png", "image/png", b"\x89PNG"), ("svg", "image/svg+xml", b"<svg")]
)
def test_the_printable_code_as_png_and_svg(client, customer, fmt, content_type, magic):
    response = client.get(reverse("card_code", args=[customer.card_token, fmt]))
    assert response["Content-Type"] == content_type and response.content.startswith(magic)


@pytest.mark.django_db(transaction=True)
def test_joining_makes_a_customer_with_a_card_and_an_account(client, merchant, program):
    clear_jobs()
    response = client.post(
        reverse("join", args=[merchant.merchant_code.lower()]),
        {"first_name": "Ada", "last_name": "L", "email": "Ada@Example.test"},
    )
    assert mail.outbox == []  # the worker sends it
    run_jobs()
    customer = Customer.objects.get(email="ada@example.test")
    assert response.status_code == 200 and customer.card_token not in response.content.decode()
    assert CustomerLoyaltyAccount.objects.filter(customer=customer, merchant=merchant).exists()
    [message] = mail.outbox
    assert customer.card_token in message.body


@pytest.mark.django_db(transaction=True)
def test_joining_with_an_email_that_has_a_card_makes_no_duplicate_and_shows_no_card(
    client, merchant, program, customer
):
    clear_jobs()
    other = MerchantFactory()
    response = client.post(
        reverse("join", args=[other.merchant_code]), {"first_name": "Someone", "email": customer.email.upper()}
    )
    run_jobs()
    content = response.content.decode()
    assert response.status_code == 200 and "we have sent its link there" in content
    assert customer.card_token not in content and customer.customer_code not in content
    assert Customer.objects.count() == 1
    assert CustomerLoyaltyAccount.objects.filter(customer=customer, merchant=other).exists()
    [message] = mail.outbox
    assert message.to == [customer.email] and customer.card_token in message.body


def test_joining_with_a_phone_only(client, merchant):
    response = client.post(
        reverse("join", args=[merchant.merchant_code]), {"first_name": "Bo", "phone": "+44 20 7946 0000"}
    )
    assert response.status_code == 302 and Customer.objects.get().phone == "+44 20 7946 0000"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"first_name": "Bo"}, "Enter an email or a phone number."),
        ({"first_name": "", "email": "a@b.test"}, "This field is required."),
        ({"first_name": "Bo", "email": "not-an-email"}, "Enter a valid email address."),
        ({"first_name": "Bo", "phone": "call me"}, "Enter a phone number"),
        ({"first_name": "x" * 500, "email": "a@b.test"}, "Ensure this value has at most 100 characters"),
    ],
)
def test_a_bad_join_form_says_why_and_makes_nothing(client, merchant, data, message):
    response = client.post(reverse("join", args=[merchant.merchant_code]), data)
    assert response.status_code == 422 and message in response.content.decode()
    assert not Customer.objects.exists()


def test_an_unknown_or_closed_merchant_has_no_join_page(client, merchant):
    assert client.get(reverse("join", args=["NOTACODE1"])).status_code == 404
    merchant.status = "suspended"
    merchant.save()
    assert client.get(reverse("join", args=[merchant.merchant_code])).status_code == 404


def test_the_poster_holds_the_join_address(as_role, merchant):
    page = as_role("manager").get(reverse("poster")).content.decode()
    join = "http://testserver" + reverse("join", args=[merchant.merchant_code])
    assert join in page and "<svg" in page
    assert re.search(r"Scan to join", page)
