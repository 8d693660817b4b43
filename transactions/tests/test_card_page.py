"""The customer's card page shows the points their sales earned at each merchant (the card's other tests:
loyalty/tests/test_card_and_join.py)."""

from django.urls import reverse

from transactions.testing import complete_sale


def test_the_card_page_shows_a_live_code_and_the_balances(client, merchant, program, customer, card_secret):
    complete_sale(merchant=merchant, customer=customer, amount="42.00")
    page = client.get(reverse("card", args=[card_secret]))
    content = page.content.decode()
    assert page.status_code == 200 and "no-cache" in page["Cache-Control"]
    assert customer.full_name in content and merchant.business_name in content and "42 points" in content
    assert reverse("card_live", args=[card_secret]) in content and "card-code" in content
    assert content.count("<svg") >= 1  # the printable code
