"""The counter: scanning, checkout, redemption limits, idempotency, first-time accounts, rate limits."""

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core import signing
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from customers import tokens
from customers.tests.factories import CustomerFactory
from loyalty.models import CustomerLoyaltyAccount
from loyalty.testing import account_of, ledger_sum
from system.models import FraudFlag, QRScanLog, SystemSetting
from transactions.models import Transaction
from transactions.services.checkout import Checkout, CheckoutError, Item, checkout_complete
from transactions.services.scan import scan_resolve
from transactions.testing import complete_sale


@pytest.fixture
def cashier(staff):
    return staff["cashier"]


def scan(merchant, cashier, text, ip="10.0.0.1"):
    return scan_resolve(merchant=merchant, user=cashier, text=text, ip_address=ip, user_agent="test")


def checkout(
    merchant, cashier, customer, amount="23.50", key="key-1", points=0, items=(), scan_id=None, payment_method="card"
):
    """A checkout of a fresh scan of `customer` (or of the scan `scan_id`)."""
    if scan_id is None:
        scan_id = scan_resolve(merchant=merchant, user=cashier, text=customer.customer_code).log.pk
    return checkout_complete(
        merchant=merchant,
        user=cashier,
        checkout=Checkout(
            scan_id=scan_id,
            customer_id=customer.pk,
            amount=Decimal(amount),
            payment_method=payment_method,
            idempotency_key=key,
            points_to_redeem=points,
            items=list(items),
        ),
    )


def test_a_static_code_finds_the_customer_and_is_logged(merchant, cashier, customer):
    outcome = scan(merchant, cashier, customer.customer_code.lower())
    assert outcome.ok and outcome.customer == customer
    log = QRScanLog.objects.get()
    assert (log.scan_result, log.customer, log.scanned_by, log.ip_address, log.user_agent) == (
        "success",
        customer,
        cashier,
        "10.0.0.1",
        "test",
    )


def test_a_card_token_finds_the_customer_once(merchant, cashier, customer):
    token = tokens.card_token(customer.pk)
    assert customer.customer_code not in token
    assert scan(merchant, cashier, token).customer == customer
    again = scan(merchant, cashier, token)
    assert (again.ok, again.result) == (False, "expired_token") and "used already" in again.message


def test_a_bad_setting_falls_back_to_its_default(merchant, cashier, customer):
    SystemSetting.objects.update_or_create(
        setting_key="scan.max_failures", defaults={"setting_value": "0", "value_type": "integer"}
    )
    assert scan(merchant, cashier, customer.customer_code).ok


@pytest.mark.parametrize(
    ("text", "result", "message"),
    [
        ("hello", "malformed", "not a customer code"),
        ("", "malformed", "not a customer code"),
        ("23456789ABC", "bad_check_character", "mistyped character"),
        ("LC1:" + "X" * 30, "forged_token", "not one of ours"),
    ],
)
def test_bad_codes_are_refused_clearly_and_only_logged(merchant, cashier, text, result, message):
    outcome = scan(merchant, cashier, text)
    assert (outcome.ok, outcome.result) == (False, result) and message in outcome.message
    assert QRScanLog.objects.get().scan_result == result
    assert not Transaction.objects.exists()


def test_an_unknown_code_is_refused(merchant, cashier):
    from system import codes

    assert scan(merchant, cashier, codes.generate(11)).result == "unknown_code"


def test_an_inactive_customer_is_refused(merchant, cashier, customer):
    customer.status = "blocked"
    customer.save()
    outcome = scan(merchant, cashier, customer.customer_code)
    assert (outcome.ok, outcome.result) == (False, "inactive_customer")


def test_an_expired_card_token_is_refused(merchant, cashier, customer, monkeypatch):
    token = tokens.card_token(customer.pk)
    later = signing.time.time() + 3600
    monkeypatch.setattr(signing.time, "time", lambda: later)
    assert scan(merchant, cashier, token).result == "expired_token"


def test_a_merchant_can_refuse_printed_codes_but_not_card_tokens(merchant, cashier, customer):
    merchant.allow_static_codes = False
    merchant.save()
    assert scan(merchant, cashier, customer.customer_code).result == "static_code_refused"
    assert scan(merchant, cashier, tokens.card_token(customer.pk)).ok


def test_too_many_failed_scans_pause_scanning_for_that_user(merchant, cashier, customer):
    for i in range(5):
        scan(merchant, cashier, f"nonsense {i}", ip=None)
    outcome = scan(merchant, cashier, customer.customer_code, ip=None)
    assert (outcome.ok, outcome.result) == (False, "rate_limited")
    assert "paused" in outcome.message


def test_the_same_wrong_code_again_and_again_counts_once(merchant, cashier, customer):
    for _ in range(20):
        scan(merchant, cashier, "a poster in front of the camera", ip=None)
    assert scan(merchant, cashier, customer.customer_code, ip=None).ok


def test_too_many_failed_scans_from_one_address_pause_it_for_everyone(merchant, staff, customer):
    from merchants.models import MerchantStaff, User

    tills = []
    for n in range(4):  # four tills behind one address, each under its own limit
        tills.append(User.objects.create_user(f"till{n}@shop.test", "x"))
        MerchantStaff.objects.create(merchant=merchant, user=tills[-1], role="cashier")
    for n, till in enumerate(tills):
        for i in range(4):
            scan(merchant, till, f"nonsense {n}-{i}", ip="10.9.9.9")
    assert scan(merchant, staff["owner"], customer.customer_code, ip="10.9.9.9").result == "rate_limited"
    assert scan(merchant, staff["owner"], customer.customer_code, ip="10.1.1.1").ok


def test_the_limits_are_system_settings(merchant, cashier, customer):
    SystemSetting.objects.update_or_create(
        setting_key="scan.max_failures", defaults={"setting_value": "2", "value_type": "integer"}
    )
    scan(merchant, cashier, "nonsense 1")
    assert scan(merchant, cashier, customer.customer_code).ok
    scan(merchant, cashier, "nonsense 2")
    assert scan(merchant, cashier, customer.customer_code).result == "rate_limited"


def test_the_pause_ends(merchant, cashier, customer):
    for i in range(5):
        scan(merchant, cashier, f"nonsense {i}")
    QRScanLog.objects.update(created_at=timezone.now() - timedelta(minutes=30))
    assert scan(merchant, cashier, customer.customer_code).ok


def test_checkout_awards_points_and_opens_the_account_of_a_first_time_customer(merchant, program, cashier, customer):
    scan(merchant, cashier, customer.customer_code)
    sale, new = checkout(
        merchant,
        cashier,
        customer,
        amount="23.50",
        items=[Item("Flat white", 2, Decimal("4.50")), Item("Cake", 1, Decimal("14.50"))],
    )
    assert new and sale.status == "completed" and sale.points_earned == 23
    assert sale.created_by == cashier and sale.items.count() == 2
    assert account_of(customer, merchant).current_points == 23


def test_checkout_needs_a_scan_of_the_customer_first(merchant, program, cashier, customer):
    with pytest.raises(CheckoutError, match="Scan the customer's card again"):
        checkout(merchant, cashier, customer, scan_id=uuid.uuid4())
    assert not Transaction.objects.exists()


def test_a_scan_makes_one_sale(merchant, program, cashier, customer):
    scan_id = scan(merchant, cashier, customer.customer_code).log.pk
    checkout(merchant, cashier, customer, key="first", scan_id=scan_id)
    with pytest.raises(CheckoutError, match="Scan the customer's card again"):
        checkout(merchant, cashier, customer, key="second", scan_id=scan_id)
    assert Transaction.objects.count() == 1


def test_a_scan_is_good_for_a_few_minutes_only(merchant, program, cashier, customer):
    scan_id = scan(merchant, cashier, customer.customer_code).log.pk
    QRScanLog.objects.update(created_at=timezone.now() - timedelta(minutes=11))
    with pytest.raises(CheckoutError, match="Scan the customer's card again"):
        checkout(merchant, cashier, customer, scan_id=scan_id)


def test_a_scan_of_another_customer_or_by_another_cashier_does_not_count(merchant, program, staff, customer):
    other = CustomerFactory()
    scan_id = scan(merchant, staff["cashier"], other.customer_code).log.pk
    with pytest.raises(CheckoutError, match="Scan the customer's card again"):
        checkout(merchant, staff["cashier"], customer, scan_id=scan_id)
    mine = scan(merchant, staff["manager"], customer.customer_code).log.pk
    with pytest.raises(CheckoutError, match="Scan the customer's card again"):
        checkout(merchant, staff["cashier"], customer, scan_id=mine)


def test_items_must_add_up_to_the_amount(merchant, program, cashier, customer):
    scan(merchant, cashier, customer.customer_code)
    with pytest.raises(CheckoutError, match="The items add up to 9.00, not 23.50"):
        checkout(merchant, cashier, customer, items=[Item("Tea", 2, Decimal("4.50"))])


def test_the_same_key_again_records_one_sale(merchant, program, cashier, customer):
    scan_id = scan(merchant, cashier, customer.customer_code).log.pk
    first, new = checkout(merchant, cashier, customer, key="same", scan_id=scan_id)
    again, new_again = checkout(merchant, cashier, customer, key="same", scan_id=scan_id)
    assert (new, new_again, first.pk) == (True, False, again.pk)
    assert Transaction.objects.count() == 1
    for different in (
        {"amount": "99.00"},
        {"payment_method": "cash"},
        {"items": [Item("Cake", 1, Decimal("23.50"))]},
    ):
        with pytest.raises(CheckoutError, match="already used for another sale"):
            checkout(merchant, cashier, customer, key="same", scan_id=scan_id, **different)


def test_the_same_key_with_a_new_scan_returns_the_first_sale_and_leaves_the_scan_unused(
    merchant, program, cashier, customer
):
    first, _ = checkout(merchant, cashier, customer, key="same")
    fresh = scan(merchant, cashier, customer.customer_code).log.pk
    again, new = checkout(merchant, cashier, customer, key="same", scan_id=fresh)
    assert (again.pk, new) == (first.pk, False)
    assert QRScanLog.objects.get(pk=fresh).sale_id is None
    sale, new = checkout(merchant, cashier, customer, key="other", scan_id=fresh)  # the scan still makes a sale
    assert new and sale.pk != first.pk and Transaction.objects.count() == 2


@pytest.mark.django_db(transaction=True)
def test_racing_submissions_of_one_form_record_one_sale(merchant, program, staff, customer):
    cashier = staff["cashier"]
    scan_id = scan(merchant, cashier, customer.customer_code).log.pk
    start = threading.Barrier(6)

    def submit(_):
        start.wait()
        try:
            return checkout(merchant, cashier, customer, key="double-click", scan_id=scan_id)[0].pk
        finally:
            connection.close()

    with ThreadPoolExecutor(6) as pool:
        sales = set(pool.map(submit, range(6)))
    assert len(sales) == 1 and Transaction.objects.count() == 1
    assert account_of(customer, merchant).current_points == 23 == ledger_sum(account_of(customer, merchant))


def test_redeeming_points_pays_part_of_the_bill(merchant, program, cashier, customer):
    complete_sale(merchant=merchant, customer=customer, amount="300.00")  # 300 points
    scan(merchant, cashier, customer.customer_code)
    sale, _ = checkout(merchant, cashier, customer, amount="20.00", points=200)
    assert (sale.discount_amount, sale.amount_due, sale.points_redeemed) == (Decimal("2.00"), Decimal("18.00"), 200)
    assert sale.points_earned == 18  # earned on what is paid
    account = account_of(customer, merchant)
    assert account.current_points == 300 - 200 + 18 == ledger_sum(account)
    assert account.total_points_redeemed == 200


@pytest.mark.parametrize(
    ("points", "message"),
    [
        (50, "At least 100 points are needed to redeem"),
        (400, "The customer does not have that many points."),
        (1200, "Points pay at most 10.00 of this bill"),
    ],
)
def test_redemption_outside_the_rules_is_refused_and_changes_nothing(
    merchant, program, cashier, customer, points, message
):
    complete_sale(merchant=merchant, customer=customer, amount="300.00")
    scan(merchant, cashier, customer.customer_code)
    with pytest.raises(CheckoutError, match=message):
        checkout(merchant, cashier, customer, amount="20.00", points=points)
    assert Transaction.objects.count() == 1
    assert account_of(customer, merchant).current_points == 300


def test_a_refund_gives_back_the_redeemed_points_and_takes_back_the_earned(merchant, program, cashier, customer):
    complete_sale(merchant=merchant, customer=customer, amount="300.00")
    scan(merchant, cashier, customer.customer_code)
    sale, _ = checkout(merchant, cashier, customer, amount="20.00", points=200)
    Transaction.objects.filter(pk=sale.pk).update(status="refunded")
    account = account_of(customer, merchant)
    assert account.current_points == 300 == ledger_sum(account)
    assert account.total_points_redeemed == 0


def test_many_sales_by_one_customer_in_minutes_are_flagged(
    merchant, program, cashier, customer, django_capture_on_commit_callbacks
):
    scan(merchant, cashier, customer.customer_code)
    with django_capture_on_commit_callbacks(execute=True):
        for i in range(6):
            checkout(merchant, cashier, customer, key=f"k{i}", amount="1.00")
    [flag] = FraudFlag.objects.all()
    assert flag.customer == customer and "6 sales" in flag.reason


def test_the_counter_page_resolves_by_json_and_completes_by_form(client, staff, merchant, program, customer):
    client.force_login(staff["cashier"])
    page = client.get(reverse("scan"))
    assert page.status_code == 200 and b'id="camera"' in page.content
    response = client.post(reverse("scan_resolve"), {"code": customer.customer_code})
    assert response.json()["customer"]["name"] == customer.full_name
    scan_id = response.json()["scan"]
    bad = client.post(reverse("scan_resolve"), {"code": "nope"})
    assert bad.status_code == 422 and bad.json()["message"] == "This is not a customer code."
    form = {
        "scan": scan_id,
        "customer": str(customer.pk),
        "idempotency_key": "k",
        "amount": "12.00",
        "payment_method": "cash",
        "points_to_redeem": "",
        "items-TOTAL_FORMS": "0",
        "items-INITIAL_FORMS": "0",
    }
    done = client.post(reverse("checkout"), form)
    sale = Transaction.objects.get()
    assert done.status_code == 302 and done["Location"] == reverse("receipt", args=[sale.pk])
    assert client.post(reverse("checkout"), form)["Location"] == done["Location"]  # resubmitted: one sale
    receipt = client.get(done["Location"]).content.decode()
    assert "Sale complete" in receipt and "+12" in receipt


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("amount", "-5", "Ensure this value is greater than or equal to 0.01."),
        ("amount", "abc", "Enter a number."),
        ("amount", "1e9999", "Ensure that there are no more than 12 digits in total."),
        ("payment_method", "gold", "Select a valid choice."),
        ("points_to_redeem", "-1", "Ensure this value is greater than or equal to 0."),
        ("customer", "not-a-uuid", "Scan the customer's card again."),
        ("amount", "2000000", "Ensure this value is less than or equal to 1000000.00."),
    ],
)
def test_a_bad_checkout_form_says_what_is_wrong_and_records_nothing(
    client, staff, merchant, program, customer, field, value, message
):
    client.force_login(staff["cashier"])
    scan_id = client.post(reverse("scan_resolve"), {"code": customer.customer_code}).json()["scan"]
    form = {
        "scan": scan_id,
        "customer": str(customer.pk),
        "idempotency_key": "k",
        "amount": "12.00",
        "payment_method": "cash",
        "points_to_redeem": "0",
        "items-TOTAL_FORMS": "0",
        "items-INITIAL_FORMS": "0",
        field: value,
    }
    response = client.post(reverse("checkout"), form)
    assert response.status_code == 422
    assert message in response.content.decode()
    assert not Transaction.objects.exists()


def test_an_account_exists_after_joining_without_a_purchase(merchant, program):
    from loyalty.services import joining

    signed = signing.dumps(
        {"m": str(merchant.pk), "e": "ana@example.test", "f": "Ana", "l": ""}, salt=joining.JOIN_SALT, compress=True
    )  # what the emailed link carries (joining.join_request)
    card = joining.join_confirm_email(signed=signed)
    assert CustomerLoyaltyAccount.objects.get(customer=card.customer, merchant=merchant).current_points == 0


def test_the_counter_shows_the_customers_tier(client, staff, merchant, program, customer):
    from decimal import Decimal

    from loyalty.models import LoyaltyTier
    from transactions.testing import complete_sale

    LoyaltyTier.objects.create(program=program, name="Silver", min_points=20, multiplier=Decimal("1.25"))
    client.force_login(staff["cashier"])
    assert client.post(reverse("scan_resolve"), {"code": customer.customer_code}).json()["customer"]["tier"] == ""
    complete_sale(merchant=merchant, customer=customer, amount="25.00")
    response = client.post(reverse("scan_resolve"), {"code": customer.customer_code})
    assert response.json()["customer"]["tier"] == "Silver ×1.25"
