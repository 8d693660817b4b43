"""The counter's side of customer privacy: card tokens and short card codes good for one scan (also when two
counters read one at the same instant), finding a member by phone, merged and erased cards, masked codes."""

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from customers import tokens
from customers.models import CardCode, CardTokenUse, Customer
from customers.services import card_code_issue
from customers.tests.factories import CustomerFactory
from loyalty.models import CustomerLoyaltyAccount
from loyalty.testing import account_of
from system.models import QRScanLog
from transactions.services.scan import scan_by_phone, scan_resolve
from transactions.testing import complete_sale


@pytest.fixture
def cashier(staff):
    return staff["cashier"]


def scan(merchant, cashier, text, ip="10.0.0.1"):
    return scan_resolve(merchant=merchant, user=cashier, text=text, ip_address=ip, user_agent="test")


def at_once(count, work):
    """work() in `count` threads, each with its own database connection, released together."""
    start = threading.Barrier(count)

    def run(_):
        start.wait()
        try:
            return work()
        finally:
            connection.close()

    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(run, range(count)))


# Live card tokens


def test_a_card_token_is_used_once_through_card_token_uses(merchant, cashier, customer):
    token = tokens.card_token(customer.pk)
    assert scan(merchant, cashier, token).ok
    [use] = CardTokenUse.objects.all()
    assert use.customer == customer and len(use.token_digest) == 64 and token not in use.token_digest
    again = scan(merchant, cashier, token)
    assert (again.ok, again.result) == (False, "expired_token") and "used already" in again.message
    assert CardTokenUse.objects.count() == 1


def test_a_blocked_customers_token_is_refused_and_not_used(merchant, cashier, customer):
    Customer.objects.filter(pk=customer.pk).update(status="blocked")
    token = tokens.card_token(customer.pk)
    outcome = scan(merchant, cashier, token)
    assert (outcome.result, outcome.message) == ("inactive_customer", "This card is no longer in use.")
    assert not CardTokenUse.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_two_counters_scanning_one_token_at_the_same_instant_make_one_success(merchant, staff, customer):
    token = tokens.card_token(customer.pk)
    tills = [staff["cashier"], staff["manager"], staff["owner"], staff["cashier"]]
    users = iter(tills)
    lock = threading.Lock()

    def work():
        with lock:
            user = next(users)
        return scan_resolve(merchant=merchant, user=user, text=token).result

    results = at_once(4, work)
    assert sorted(results) == ["expired_token"] * 3 + ["success"]
    assert CardTokenUse.objects.count() == 1
    assert QRScanLog.objects.filter(scan_result="success").count() == 1


# Short card codes


def test_a_short_code_finds_the_customer_once_in_any_case_with_spaces_or_dashes(merchant, cashier, customer):
    code = card_code_issue(customer=customer).code
    typed = f"{code[:3].lower()} - {code[3:].lower()}"
    outcome = scan(merchant, cashier, typed)
    assert outcome.ok and outcome.customer == customer
    assert QRScanLog.objects.get().scanned_code == typed.strip()  # as typed: worthless once used
    assert CardCode.objects.get(code=code).used_at is not None
    again = scan(merchant, cashier, code)
    assert (again.ok, again.result) == (False, "expired_token") and "used already" in again.message


def test_an_expired_short_code_is_refused(merchant, cashier, customer):
    code = card_code_issue(customer=customer).code
    CardCode.objects.filter(code=code).update(expires_at=timezone.now() - timedelta(seconds=1))
    outcome = scan(merchant, cashier, code)
    assert (outcome.ok, outcome.result) == (False, "expired_token") and "expired" in outcome.message
    assert CardCode.objects.get(code=code).used_at is None


def test_an_unknown_or_impossible_short_code_is_refused(merchant, cashier):
    unknown = scan(merchant, cashier, "ABC 234")
    assert (unknown.result, unknown.message) == ("unknown_code", "No card shows this code: check it with the customer.")
    assert scan(merchant, cashier, "ABC 10O").result == "malformed"  # 0, O, 1, I and L are never in one
    assert list(QRScanLog.objects.order_by("created_at").values_list("scanned_code", flat=True)) == [
        "ABC 234",
        "ABC 10O",
    ]


def test_a_short_code_is_good_where_printed_codes_are_refused(merchant, cashier, customer):
    merchant.allow_static_codes = False
    merchant.save()
    assert scan(merchant, cashier, customer.customer_code).result == "static_code_refused"
    assert scan(merchant, cashier, card_code_issue(customer=customer).code).ok


def test_wrong_short_codes_pause_scanning(merchant, cashier, customer):
    for code in ["ABC234", "ABC235", "ABC236", "ABC237", "ABC238"]:
        assert scan(merchant, cashier, code, ip=None).result == "unknown_code"
    assert scan(merchant, cashier, card_code_issue(customer=customer).code, ip=None).result == "rate_limited"


@pytest.mark.django_db(transaction=True)
def test_two_counters_typing_one_short_code_at_the_same_instant_make_one_success(merchant, staff, customer):
    code = card_code_issue(customer=customer).code
    results = at_once(4, lambda: scan_resolve(merchant=merchant, user=staff["cashier"], text=code).result)
    assert sorted(results) == ["expired_token"] * 3 + ["success"]
    assert QRScanLog.objects.filter(scan_result="success").count() == 1


# Statuses


def test_a_merged_customers_printed_code_finds_the_customer_it_was_merged_into(merchant, cashier):
    kept, merged = CustomerFactory(), CustomerFactory()
    Customer.objects.filter(pk=merged.pk).update(status="merged", merged_into=kept)
    outcome = scan(merchant, cashier, merged.customer_code)
    assert outcome.ok and outcome.customer == kept and outcome.log.customer_id == kept.pk


def test_an_erased_customer_is_refused_like_a_blocked_one_and_not_named_in_the_log(merchant, cashier):
    blocked, erased = CustomerFactory(status="blocked"), CustomerFactory()
    Customer.objects.filter(pk=erased.pk).update(status="erased", erased_at=timezone.now())
    for customer in (blocked, erased):
        outcome = scan(merchant, cashier, customer.customer_code)
        assert (outcome.ok, outcome.result, outcome.message) == (
            False,
            "inactive_customer",
            "This card is no longer in use.",
        )
    assert QRScanLog.objects.get(customer=None).scan_result == "inactive_customer"  # the erased one


def test_an_inactive_customer_is_told_apart(merchant, cashier):
    outcome = scan(merchant, cashier, CustomerFactory(status="inactive").customer_code)
    assert (outcome.result, outcome.message) == ("inactive_customer", "This customer's card is inactive.")


# Finding a member by phone


@pytest.fixture
def london(merchant):
    merchant.timezone = "Europe/London"
    merchant.save()
    return merchant


def gave_phone(customer, merchant):
    CustomerLoyaltyAccount.objects.filter(customer=customer, merchant=merchant).update(shares_phone=True)


def phone_lookup(merchant, cashier, text, ip="10.0.0.1"):
    return scan_by_phone(merchant=merchant, user=cashier, text=text, ip_address=ip, user_agent="test")


def test_a_member_here_is_found_by_phone_and_the_lookup_logged_masked(london, program, cashier):
    member = CustomerFactory(phone="+442079460123")
    complete_sale(merchant=london, customer=member, amount="5.00")  # an account here
    assert not phone_lookup(london, cashier, "020 7946 0123").ok  # the phone was not given to this shop
    gave_phone(member, london)
    outcome = phone_lookup(london, cashier, "020 7946 0123")  # read in the merchant's country
    assert outcome.ok and outcome.customer == member
    log = QRScanLog.objects.get(scan_result="success")
    assert (log.scanned_code, log.scan_result, log.customer) == ("phone …0123", "success", member)


def test_a_customer_without_an_account_here_is_not_found_by_phone(london, cashier):
    CustomerFactory(phone="+442079460123")  # a member elsewhere, or nowhere
    outcome = phone_lookup(london, cashier, "+44 20 7946 0123")
    assert (outcome.ok, outcome.result, outcome.message) == (False, "unknown_code", "No member here has this number.")
    assert phone_lookup(london, cashier, "+44 20 7946 0999").message == "No member here has this number."
    assert set(QRScanLog.objects.values_list("scanned_code", "scan_result", "customer")) == {
        ("phone …0123", "unknown_code", None),
        ("phone …0999", "unknown_code", None),
    }


def test_a_bad_number_says_why_and_logs_nothing(london, cashier):
    from customers.phones import PhoneError

    with pytest.raises(PhoneError, match="not a valid phone number"):
        phone_lookup(london, cashier, "12")
    assert not QRScanLog.objects.exists()


def test_failed_phone_lookups_pause_scanning_each_counting(london, cashier, customer):
    for n in range(5):  # five numbers ending alike: logged alike, counted apart
        phone_lookup(london, cashier, f"020 79{n}6 0123", ip=None)
    assert QRScanLog.objects.filter(scanned_code="phone …0123").count() == 5
    assert scan(london, cashier, customer.customer_code, ip=None).result == "rate_limited"


def test_the_counter_finds_by_phone_asks_to_confirm_and_completes(client, london, program, staff):
    member = CustomerFactory(phone="+442079460123", first_name="Ada", last_name="Lovelace")
    complete_sale(merchant=london, customer=member, amount="5.00")
    gave_phone(member, london)
    client.force_login(staff["cashier"])
    page = client.get(reverse("scan")).content.decode()
    assert reverse("scan_phone") in page and 'id="confirm-customer"' in page
    bad = client.post(reverse("scan_phone"), {"phone": "12"})
    assert bad.status_code == 422 and "not a valid phone number" in bad.json()["message"]
    unknown = client.post(reverse("scan_phone"), {"phone": "020 7946 0999"})
    assert unknown.status_code == 422 and unknown.json()["message"] == "No member here has this number."
    found = client.post(reverse("scan_phone"), {"phone": "020 7946 0123"}).json()
    assert found["ok"] and found["confirm"] is True and found["customer"]["name"] == "Ada Lovelace"
    assert found["customer"]["code"] == "•••• " + member.customer_code[-4:]
    response = client.post(
        reverse("checkout"),
        {
            "scan": found["scan"],
            "customer": found["customer"]["id"],
            "amount": "10.00",
            "payment_method": "card",
            "points_to_redeem": "0",
            "idempotency_key": "phone-1",
            "items-TOTAL_FORMS": "0",
            "items-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 302
    assert account_of(member, london).current_points == 15


def test_the_counter_shows_the_printed_code_masked(client, merchant, staff, customer):
    client.force_login(staff["cashier"])
    body = client.post(reverse("scan_resolve"), {"code": customer.customer_code}).json()
    assert body["customer"]["code"] == "•••• " + customer.customer_code[-4:] and "confirm" not in body
    assert customer.customer_code not in str(body)
