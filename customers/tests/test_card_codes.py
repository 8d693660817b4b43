"""Short card codes (customers.card_codes, customers.services.card_code_issue): drawn from an unambiguous
alphabet, unique among the live ones, an expired one's row taken over; the card page shows and refreshes them;
old ones are purged."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from customers import card_codes, services
from customers.models import CardCode, CardTokenUse, Customer
from customers.services import card_code_issue, card_codes_purge, card_token_uses_purge
from customers.tests.factories import CustomerFactory
from system.models import SystemSetting


def test_the_alphabet_has_no_ambiguous_characters():
    assert not set("0O1IL") & set(card_codes.ALPHABET) and len(set(card_codes.ALPHABET)) == 31


@pytest.mark.parametrize(
    ("typed", "code"),
    [("abc 234", "ABC234"), ("AB-C2-34", "ABC234"), (" abc234 ", "ABC234"), ("ABC 230", None), ("ABCD", None)],
)
def test_what_the_cashier_types_is_read_in_any_case_without_spaces_and_dashes(typed, code):
    assert card_codes.normalize(typed) == code


def test_a_code_is_six_characters_live_for_the_set_minutes(customer):
    SystemSetting.objects.update_or_create(
        setting_key="privacy.card_code_minutes", defaults={"setting_value": "7", "value_type": "integer"}
    )
    issued = card_code_issue(customer=customer)
    stored = CardCode.objects.get(code=issued.code)
    assert len(issued.code) == 6 and set(issued.code) <= set(card_codes.ALPHABET)
    assert stored.customer == customer and stored.used_at is None
    assert stored.expires_at - stored.created_at == timedelta(minutes=7)
    assert card_codes.display(issued.code) == f"{issued.code[:3]} {issued.code[3:]}"


def drawing(monkeypatch, *codes):
    """The codes card_code_issue draws next, in order."""
    letters = iter("".join(codes))
    monkeypatch.setattr(services.secrets, "choice", lambda alphabet: next(letters))


def test_a_live_code_is_never_given_twice_and_another_is_drawn(monkeypatch, customer):
    other = CustomerFactory()
    drawing(monkeypatch, "AAAAAA", "AAAAAA", "BBBBBB")
    assert card_code_issue(customer=customer).code == "AAAAAA"
    assert card_code_issue(customer=other).code == "BBBBBB"
    assert dict(CardCode.objects.values_list("code", "customer")) == {"AAAAAA": customer.pk, "BBBBBB": other.pk}


def test_an_expired_codes_row_is_taken_over(monkeypatch, customer):
    other = CustomerFactory()
    drawing(monkeypatch, "AAAAAA", "AAAAAA")
    card_code_issue(customer=customer)
    CardCode.objects.update(expires_at=timezone.now() - timedelta(seconds=1), used_at=timezone.now())
    card_code_issue(customer=other)
    stored = CardCode.objects.get()
    assert (stored.customer, stored.used_at) == (other, None) and stored.expires_at > timezone.now()


def test_old_codes_and_token_uses_are_purged(customer):
    fresh, old = card_code_issue(customer=customer), card_code_issue(customer=customer)
    CardCode.objects.filter(code=old.code).update(expires_at=timezone.now() - timedelta(days=2))
    CardTokenUse.objects.create(token_digest="a" * 64, customer=customer)
    CardTokenUse.objects.create(token_digest="b" * 64, customer=customer)
    CardTokenUse.objects.filter(token_digest="b" * 64).update(used_at=timezone.now() - timedelta(days=2))
    assert (card_codes_purge(), card_token_uses_purge()) == (1, 1)
    assert list(CardCode.objects.values_list("code", flat=True)) == [fresh.code]
    assert list(CardTokenUse.objects.values_list("token_digest", flat=True)) == ["a" * 64]


def test_the_card_page_shows_a_short_code_and_refreshes_it_with_the_qr_code(client, customer, card_secret):
    page = client.get(reverse("card", args=[card_secret])).content.decode()
    [shown] = CardCode.objects.filter(customer=customer)
    assert card_codes.display(shown.code) in page and reverse("card_live", args=[card_secret]) in page
    assert "js/card.js" in page and "<script>" not in page  # no inline script
    live = client.get(reverse("card_live", args=[card_secret]))
    assert live.status_code == 200 and "no-cache" in live["Cache-Control"]
    body = live.json()
    assert body["qr"].lstrip().startswith("<") and "svg" in body["qr"]
    assert body["code"] != card_codes.display(shown.code)
    assert CardCode.objects.filter(customer=customer, code=body["code"].replace(" ", "")).exists()


def test_a_card_that_is_not_active_shows_no_short_code(client, customer, card_secret):
    Customer.objects.filter(pk=customer.pk).update(status="blocked")
    assert client.get(reverse("card_live", args=[card_secret])).json()["code"] == ""
    assert not CardCode.objects.exists()
