"""The customer's card page by its secret link, joining a merchant's program from its poster (nothing is made
until the customer confirms their email or phone), and finding a lost card again."""

import re

import pytest
from django.core import mail
from django.urls import reverse

from customers import tokens
from customers.models import Customer
from customers.services import card_link_issue
from customers.tokens import card_secret_hash
from loyalty.models import CustomerLoyaltyAccount, PhoneVerification
from merchants.tests.factories import MerchantFactory
from system.settings_store import setting_set
from system.testing import clear_jobs, run_jobs


def test_the_card_is_reached_by_its_secret_not_by_the_customer_code(client, customer, card_secret):
    assert client.get(reverse("card", args=[card_secret])).status_code == 200
    assert client.get(f"/card/{customer.customer_code}/").status_code == 404
    assert client.get(reverse("card", args=["0" * 64])).status_code == 404
    assert client.get(f"/card/%00{card_secret[1:]}/").status_code == 404
    assert client.get(f"/card/{card_secret}/code.exe").status_code == 404


def test_only_the_hash_of_the_secret_is_stored_and_a_new_link_ends_the_old_one(client, customer, card_secret):
    customer.refresh_from_db()
    assert customer.card_token_hash == card_secret_hash(card_secret) != card_secret
    newer = card_link_issue(customer=customer)
    assert client.get(reverse("card", args=[card_secret])).status_code == 404
    assert client.get(reverse("card", args=[newer])).status_code == 200


def test_the_live_code_is_a_card_token_that_changes(client, customer, card_secret):
    svg = client.get(reverse("card_live_qr", args=[card_secret]))
    assert svg["Content-Type"] == "image/svg+xml" and "no-cache" in svg["Cache-Control"]
    assert tokens.is_card_token(tokens.card_token(customer.pk))


@pytest.mark.parametrize(
    ("fmt", "content_type", "magic"), [("png", "image/png", b"\x89PNG"), ("svg", "image/svg+xml", b"<svg")]
)
def test_the_printable_code_as_png_and_svg(client, card_secret, fmt, content_type, magic):
    response = client.get(reverse("card_code", args=[card_secret, fmt]))
    assert response["Content-Type"] == content_type and response.content.startswith(magic)


def _answer(response) -> str:
    """The page's answer, without what differs on every request (the CSRF token)."""
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", response.content.decode())


def _link(body: str) -> str:
    return re.search(r"https?://testserver(/\S+)", body).group(1)


def _join(client, merchant, address="127.0.0.1", **data):
    return client.post(
        reverse("join", args=[merchant.merchant_code.lower()]), {"first_name": "Ada", **data}, REMOTE_ADDR=address
    )


@pytest.mark.django_db(transaction=True)
def test_joining_by_email_makes_nothing_until_the_emailed_link_is_confirmed(client, merchant, program):
    clear_jobs()
    response = _join(client, merchant, last_name="L", email="Ada@Example.test")
    assert response.status_code == 200 and "Check your email" in response.content.decode()
    assert mail.outbox == []  # the worker sends it
    run_jobs()
    assert not Customer.objects.exists() and not CustomerLoyaltyAccount.objects.exists()
    [message] = mail.outbox
    link = _link(message.body)
    assert client.get(link).status_code == 200 and not Customer.objects.exists()  # a mail scanner joins nobody
    response = client.post(link)
    customer = Customer.objects.get(email="ada@example.test")
    account = CustomerLoyaltyAccount.objects.get(customer=customer, merchant=merchant)
    assert account.shares_email and not account.shares_phone
    assert response.status_code == 302 and client.get(response["Location"]).status_code == 200
    assert card_secret_hash(response["Location"].strip("/").split("/")[-1]) == customer.card_token_hash
    assert client.post(link).status_code == 302 and CustomerLoyaltyAccount.objects.count() == 1  # twice: one


@pytest.mark.django_db(transaction=True)
def test_the_leak_is_closed_an_email_with_a_card_joins_another_merchant_only_when_its_owner_confirms(
    client, merchant, program, customer, staff
):
    """The review's reproduction: B's manager posts A's customer's email into B's join page, then searches B's
    customers for it: nothing, and the page said what it says for any email."""
    clear_jobs()
    card_link_issue(customer=customer)
    CustomerLoyaltyAccount.objects.create(customer=customer, merchant=merchant, shares_email=True)
    other = MerchantFactory()
    from merchants.models import MerchantStaff

    MerchantStaff.objects.create(merchant=other, user=staff["manager"], role="manager")
    client.force_login(staff["manager"])
    session = client.session
    session["merchant_id"] = str(other.pk)
    session.save()
    known = _answer(_join(client, other, first_name="x", email=customer.email))
    unknown = _answer(_join(client, other, first_name="x", email="nobody@example.test"))
    assert known.replace(customer.email, "E") == unknown.replace("nobody@example.test", "E")
    assert not CustomerLoyaltyAccount.objects.filter(customer=customer, merchant=other).exists()
    export = client.get(reverse("customers"), {"q": customer.email, "_export": "csv"}).getvalue().decode()
    assert len(export.strip().splitlines()) == 1 and customer.last_name not in export  # the header alone
    run_jobs()
    assert sorted(m.to[0] for m in mail.outbox) == sorted([customer.email, "nobody@example.test"])
    message = next(m for m in mail.outbox if m.to == [customer.email])
    assert customer.customer_code not in message.body
    client.logout()
    client.post(_link(message.body))  # the customer confirms: now B has them, with the email they confirmed
    account = CustomerLoyaltyAccount.objects.get(customer=customer, merchant=other)
    assert account.shares_email and Customer.objects.filter(email=customer.email).count() == 1


@pytest.mark.django_db(transaction=True)
def test_joining_by_phone_takes_the_texted_code_and_a_known_phone_gets_its_own_card(
    client, merchant, program, sms_outbox
):
    clear_jobs()
    merchant.timezone = "Europe/London"
    merchant.save()
    response = _join(client, merchant, phone="020 7946 0000")  # read in the merchant's country
    assert response.status_code == 302 and not Customer.objects.exists()
    run_jobs()
    [sms] = sms_outbox
    assert sms.to == "+442079460000"
    code = re.search(r"\d{6}", sms.body).group()
    wrong = "000000" if code != "000000" else "111111"
    page = client.post(response["Location"], {"code": wrong})
    assert page.status_code == 422 and "not the one we sent" in page.content.decode()
    card = client.post(response["Location"], {"code": code})
    customer = Customer.objects.get()
    assert card.status_code == 302 and customer.phone == "+442079460000" and customer.first_name == "Ada"
    assert CustomerLoyaltyAccount.objects.get(customer=customer).shares_phone
    assert client.post(response["Location"], {"code": code}).status_code == 422  # used
    # The same phone joining another merchant: the same customer, no second one.
    other = MerchantFactory(timezone=merchant.timezone)
    again = _join(client, other, first_name="Someone", phone="+44 20 7946 0000")
    run_jobs()
    code = re.search(r"\d{6}", sms_outbox[-1].body).group()
    assert client.post(again["Location"], {"code": code}).status_code == 302
    assert Customer.objects.count() == 1 and customer.loyalty_accounts.count() == 2


def test_a_code_tried_too_often_is_void(client, merchant, program, sms_outbox):
    setting_set(key="privacy.otp_attempts", value="2")
    response = _join(client, merchant, phone="+442079460001")
    for _ in range(2):
        client.post(response["Location"], {"code": "999999"})
    verification = PhoneVerification.objects.get()
    page = client.post(response["Location"], {"code": "123456"})
    assert "tried too many times" in page.content.decode()
    verification.refresh_from_db()
    assert verification.attempts == 2 and verification.used_at is None


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"first_name": "Bo"}, "Enter an email or a mobile number."),
        ({"first_name": "", "email": "a@b.test"}, "This field is required."),
        ({"first_name": "Bo", "email": "not-an-email"}, "Enter a valid email address."),
        ({"first_name": "Bo", "phone": "call me"}, "Enter a phone number"),
        ({"first_name": "Bo", "phone": "+44 20 7946"}, "not a valid phone number"),
        ({"first_name": "Bo", "email": "a@b.test", "phone": "+442079460000"}, "not both"),
        ({"first_name": "x" * 500, "email": "a@b.test"}, "Ensure this value has at most 100 characters"),
    ],
)
def test_a_bad_join_form_says_why_and_makes_nothing(client, merchant, data, message):
    response = client.post(reverse("join", args=[merchant.merchant_code]), data)
    assert response.status_code == 422 and message in response.content.decode()
    assert not Customer.objects.exists() and not PhoneVerification.objects.exists()


def test_joining_is_rate_limited_per_email(client, merchant, program):
    setting_set(key="privacy.join_per_contact_per_hour", value="2")
    for _ in range(2):
        assert _join(client, merchant, email="ada@example.test").status_code == 200
    response = _join(client, merchant, email="ADA@example.test")
    assert response.status_code == 429 and "Too many requests" in response.content.decode()
    assert _join(client, merchant, email="bo@example.test").status_code == 200


def test_joining_is_rate_limited_per_address_and_per_merchant(client, merchant, program):
    setting_set(key="privacy.join_per_address_per_hour", value="3")
    for n in range(3):
        assert _join(client, merchant, email=f"a{n}@example.test").status_code == 200
    assert _join(client, merchant, email="a9@example.test").status_code == 429
    setting_set(key="privacy.join_per_merchant_per_hour", value="1")
    other = MerchantFactory()
    assert _join(client, other, email="z@example.test", address="10.0.0.9").status_code == 200
    assert _join(client, other, email="y@example.test", address="10.0.0.8").status_code == 429


@pytest.mark.django_db(transaction=True)
def test_a_lost_card_comes_back_by_email_and_the_page_says_the_same_for_any_email(client, customer, card_secret):
    clear_jobs()
    known = _answer(client.post(reverse("card_recover"), {"contact": customer.email}))
    unknown = _answer(client.post(reverse("card_recover"), {"contact": "nobody@example.test"}))
    assert known.replace(customer.email, "E") == unknown.replace("nobody@example.test", "E")
    run_jobs()
    [message] = mail.outbox
    assert message.to == [customer.email]
    response = client.post(_link(message.body))
    assert response.status_code == 302 and client.get(response["Location"]).status_code == 200
    assert client.get(reverse("card", args=[card_secret])).status_code == 404  # the old link ends


@pytest.mark.django_db(transaction=True)
def test_a_lost_card_comes_back_by_phone_and_an_unknown_phone_gets_the_same_page_and_no_text(
    client, customer, sms_outbox
):
    clear_jobs()
    Customer.objects.filter(pk=customer.pk).update(phone="+14155550123")
    known = client.post(reverse("card_recover"), {"contact": "+1 415 555 0123"})
    unknown = client.post(reverse("card_recover"), {"contact": "+1 415 555 0199"})
    assert known.status_code == unknown.status_code == 302
    assert _answer(client.get(known["Location"])) == _answer(client.get(unknown["Location"]))
    run_jobs()
    [sms] = sms_outbox
    assert sms.to == "+14155550123"
    response = client.post(known["Location"], {"code": re.search(r"\d{6}", sms.body).group()})
    assert response.status_code == 302
    assert card_secret_hash(response["Location"].strip("/").split("/")[-1]) == (
        Customer.objects.get(pk=customer.pk).card_token_hash
    )


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
