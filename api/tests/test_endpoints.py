"""Every operation of /api/v1/, its failures, and that a key sees its merchant only."""

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from api.models import ApiKey
from api.services import api_key_create, api_key_revoke
from customers.tests.factories import CustomerFactory
from loyalty.testing import account_of, ledger_sum
from loyalty.tests.factories import LoyaltyProgramFactory
from merchants.tests.factories import MerchantFactory
from system.models import AuditLog, QRScanLog
from transactions.models import Transaction
from transactions.testing import complete_sale

OFFSET = re.compile(r"(Z|[+-]\d\d:\d\d)$")


def scan(api, customer) -> dict:
    response = api.post("/scans", {"code": customer.customer_code})
    assert response.status_code == 200, response.content
    return response.json()


def sale_body(api, customer, **fields) -> dict:
    return {"scan_id": scan(api, customer)["scan_id"], "customer_id": str(customer.pk), "amount": "25.00", **fields}


# Access


def test_no_key_a_wrong_key_and_a_revoked_key_are_401(client, api, api_key, staff):
    assert client.get("/api/v1/transactions").status_code == 401
    wrong = client.get("/api/v1/transactions", headers={"Authorization": "Bearer lk_not-a-key"})
    assert wrong.status_code == 401
    assert wrong.json()["code"] == "unauthorized"
    assert api.get("/transactions").status_code == 200
    key, _ = api_key
    api_key_revoke(merchant=key.merchant, key_id=key.pk, acting_user=staff["owner"])
    assert api.get("/transactions").status_code == 401


def test_a_key_is_stored_hashed_and_notes_when_it_was_used(api, api_key):
    key, raw = api_key
    assert raw.startswith(key.prefix) and raw not in (key.key_hash, key.prefix)
    assert ApiKey.objects.get(pk=key.pk).last_used_at is None
    api.get("/transactions")
    assert ApiKey.objects.get(pk=key.pk).last_used_at is not None


def test_a_keys_service_user_cannot_log_in(client, api_key):
    key, raw = api_key
    assert not key.user.is_active and not key.user.has_usable_password()
    response = client.post("/accounts/login/", {"username": key.user.email, "password": raw})
    assert response.status_code == 200 and "_auth_user_id" not in client.session


def test_past_the_rate_limit_a_key_gets_429_with_retry_after(api, settings):
    from system.models import SystemSetting

    SystemSetting.objects.filter(setting_key="api.rate_limit_requests").update(setting_value="3")
    assert [api.get("/transactions").status_code for _ in range(3)] == [200, 200, 200]
    limited = api.get("/transactions")
    assert limited.status_code == 429
    assert limited.json()["code"] == "rate_limited"
    assert 1 <= int(limited["Retry-After"]) <= 60


def test_another_merchants_objects_are_404(api, merchant, program):
    other = MerchantFactory()
    LoyaltyProgramFactory(merchant=other)
    their_customer = CustomerFactory()
    sale = complete_sale(merchant=other, customer=their_customer)
    pending = Transaction.objects.create(merchant=other, customer=their_customer, amount=Decimal("5.00"))
    for path in (f"/transactions/{sale.pk}", f"/customers/{their_customer.pk}/account",
                 f"/customers/{their_customer.pk}/ledger"):  # fmt: skip
        assert api.get(path).status_code == 404, path
        assert api.get(path).json()["code"] == "not_found"
    for path in (f"/transactions/{sale.pk}/refund", f"/transactions/{pending.pk}/complete",
                 f"/transactions/{pending.pk}/cancel"):  # fmt: skip
        assert api.post(path).status_code == 404, path
    assert api.get("/transactions").json()["items"] == []
    pending.refresh_from_db()
    sale.refresh_from_db()
    assert (pending.status, sale.status) == ("pending", "completed")


def test_a_scan_by_another_key_cannot_be_used_for_a_sale(api, merchant, program, customer, staff, client):
    _, other_raw = api_key_create(merchant=merchant, name="Back till", acting_user=staff["owner"])
    scan_id = scan(api, customer)["scan_id"]
    response = client.post(
        "/api/v1/transactions",
        {"scan_id": scan_id, "customer_id": str(customer.pk), "amount": "5.00"},
        content_type="application/json",
        headers={"Authorization": f"Bearer {other_raw}"},
    )
    assert response.status_code == 422
    assert response.json()["code"] == "sale_refused"
    assert not Transaction.objects.exists()


# Scans


def test_a_scan_names_the_customer_and_their_points_and_is_logged_as_the_key(api, api_key, merchant, program, customer):
    complete_sale(merchant=merchant, customer=customer, amount="30.00")
    body = scan(api, customer)
    assert body["customer"]["code"] == "•••• " + customer.customer_code[-4:]  # masked
    assert body["points"] == 30
    log = QRScanLog.objects.get(pk=body["scan_id"])
    assert (log.merchant, log.scanned_by, log.scan_result) == (merchant, api_key[0].user, "success")
    assert "Front till" in log.user_agent


def test_a_short_card_code_is_accepted_once_in_any_case(api, merchant, program, customer):
    from customers.services import card_code_issue

    merchant.allow_static_codes = False  # short codes are single use, like card tokens: accepted anyway
    merchant.save()
    code = card_code_issue(customer=customer).code
    response = api.post("/scans", {"code": f"{code[:3].lower()}-{code[3:].lower()}"})
    assert response.status_code == 200 and response.json()["customer"]["id"] == str(customer.pk)
    again = api.post("/scans", {"code": code})
    assert (again.status_code, again.json()["code"]) == (422, "expired_token")
    unknown = api.post("/scans", {"code": "ZZZ 999"})
    assert (unknown.status_code, unknown.json()["code"]) == (422, "unknown_code")


def test_the_openapi_description_says_the_code_is_masked(api):
    from api.v1 import api as ninja_api

    schema = ninja_api.get_openapi_schema()
    assert "masked" in schema["components"]["schemas"]["CustomerOut"]["properties"]["code"]["description"]


def test_an_unknown_code_is_422_with_the_scan_result_and_is_logged(api, merchant):
    response = api.post("/scans", {"code": "NOT-A-CODE"})
    assert response.status_code == 422
    assert response.json()["code"] == "malformed"
    assert QRScanLog.objects.filter(merchant=merchant, scan_result="malformed").count() == 1


# Transactions


def test_a_completed_sale_awards_points_and_names_the_key_in_the_audit_log(api, api_key, merchant, program, customer):
    body = sale_body(api, customer, items=[{"product_name": "Tea", "quantity": 2, "unit_price": "12.50"}],
                     external_reference="R-1", payment_method="cash")  # fmt: skip
    response = api.post("/transactions", body)
    assert response.status_code == 201, response.content
    sale = response.json()
    assert (sale["status"], sale["amount"], sale["points_earned"], sale["currency"]) == (
        "completed", "25.00", 25, merchant.currency,
    )  # fmt: skip
    assert sale["items"][0]["total_price"] == "25.00"
    assert OFFSET.search(sale["created_at"]) and OFFSET.search(sale["completed_at"])
    row = Transaction.objects.get(pk=sale["id"])
    assert (row.created_by, row.external_reference, row.payment_method) == (api_key[0].user, "R-1", "cash")
    assert AuditLog.objects.get(table_name="transactions", record_id=row.pk, action="INSERT").user == api_key[0].user
    assert account_of(customer, merchant).current_points == 25


def test_bad_input_names_the_field_and_changes_nothing(api, merchant, program, customer):
    cases = [
        ({"amount": 25.0}, "amount"),  # money is a string, never a float
        ({"amount": "0.00"}, "amount"),
        ({"amount": "1.234"}, "amount"),
        ({"external_reference": "a\x00b"}, "external_reference"),
        ({"payment_method": "gold"}, "payment_method"),
        ({"items": [{"product_name": "Tea", "quantity": 0, "unit_price": "1.00"}]}, "items.0.quantity"),
        ({"currency": "usd"}, "currency"),
    ]
    for fields, name in cases:
        response = api.post("/transactions", sale_body(api, customer, **fields))
        assert response.status_code == 422, fields
        assert response.json()["code"] == "invalid"
        assert name in response.json()["fields"], response.json()
    assert api.post("/transactions", raw="{not json").status_code == 400
    assert api.post("/transactions", raw="[]").status_code == 422
    assert not Transaction.objects.exists()


def test_a_sale_in_another_currency_or_not_adding_up_is_refused(api, merchant, program, customer):
    other = "EUR" if merchant.currency != "EUR" else "USD"
    response = api.post("/transactions", sale_body(api, customer, currency=other))
    assert (response.status_code, response.json()["code"]) == (422, "currency_mismatch")
    items = [{"product_name": "Tea", "quantity": 1, "unit_price": "3.00"}]
    response = api.post("/transactions", sale_body(api, customer, items=items))
    assert (response.status_code, response.json()["code"]) == (422, "sale_refused")
    assert "add up" in response.json()["message"]
    assert not Transaction.objects.exists()


def test_a_pending_sale_completes_once_and_then_awards_its_points(api, merchant, program, customer):
    sale = api.post("/transactions", sale_body(api, customer, status="pending")).json()
    assert sale["status"] == "pending" and sale["points_earned"] == 0
    assert not customer.loyalty_accounts.exists()
    done = api.post(f"/transactions/{sale['id']}/complete")
    assert done.status_code == 200
    assert (done.json()["status"], done.json()["points_earned"]) == ("completed", 25)
    again = api.post(f"/transactions/{sale['id']}/complete")
    assert (again.status_code, again.json()["code"]) == (409, "invalid_state")
    assert account_of(customer, merchant).current_points == 25


def test_completing_a_pending_sale_with_more_points_than_the_customer_has_is_refused(api, merchant, program, customer):
    complete_sale(merchant=merchant, customer=customer, amount="100.00")  # 100 points
    sale = api.post("/transactions", sale_body(api, customer, status="pending", points_to_redeem=100)).json()
    api.post("/transactions", sale_body(api, customer, points_to_redeem=100))  # spends them meanwhile
    response = api.post(f"/transactions/{sale['id']}/complete")
    assert (response.status_code, response.json()["code"]) == (422, "sale_refused")
    assert Transaction.objects.get(pk=sale["id"]).status == "pending"
    account = account_of(customer, merchant)
    assert account.current_points == ledger_sum(account)


def test_a_pending_sale_can_be_cancelled_and_a_completed_one_cannot(api, merchant, program, customer):
    pending = api.post("/transactions", sale_body(api, customer, status="pending")).json()
    cancelled = api.post(f"/transactions/{pending['id']}/cancel")
    assert cancelled.status_code == 200
    assert cancelled.json()["status"] == "cancelled" and OFFSET.search(cancelled.json()["cancelled_at"])
    completed = api.post("/transactions", sale_body(api, customer)).json()
    response = api.post(f"/transactions/{completed['id']}/cancel")
    assert (response.status_code, response.json()["code"]) == (409, "invalid_state")


def test_a_refund_takes_the_points_back_once(api, merchant, program, customer):
    sale = api.post("/transactions", sale_body(api, customer)).json()
    refunded = api.post(f"/transactions/{sale['id']}/refund", {})
    assert refunded.status_code == 200
    body = refunded.json()
    assert (body["status"], body["points_reversed"], body["refunded_amount"]) == ("refunded", 25, "25.00")
    assert account_of(customer, merchant).current_points == 0
    again = api.post(f"/transactions/{sale['id']}/refund", {})
    assert (again.status_code, again.json()["code"]) == (409, "refund_refused")


def test_a_partial_refund_takes_back_points_in_proportion_and_never_more_than_the_sale(
    api, merchant, program, customer
):
    sale = api.post("/transactions", sale_body(api, customer, amount="40.00")).json()
    part = api.post(f"/transactions/{sale['id']}/refund", {"amount": "10.00"})
    assert part.status_code == 200, part.content
    assert (part.json()["status"], part.json()["refunded_amount"]) == ("completed", "10.00")
    account = account_of(customer, merchant)
    assert account.current_points == 30 == ledger_sum(account)
    too_much = api.post(f"/transactions/{sale['id']}/refund", {"amount": "30.01"})
    assert (too_much.status_code, too_much.json()["code"]) == (409, "refund_refused")
    assert "30.00" in too_much.json()["message"]
    rest = api.post(f"/transactions/{sale['id']}/refund", {})
    assert (rest.json()["status"], rest.json()["refunded_amount"]) == ("refunded", "40.00")
    refunds = [(r["kind"], r["amount"], r["points_taken_back"], r["points_shortfall"]) for r in rest.json()["refunds"]]
    assert refunds == [("refund", "10.00", 10, 0), ("refund", "30.00", 30, 0)]
    account = account_of(customer, merchant)
    assert account.current_points == 0 == ledger_sum(account)


def test_a_refund_amount_is_a_positive_decimal_string(api, merchant, program, customer):
    sale = api.post("/transactions", sale_body(api, customer)).json()
    for amount in (5, "0", "-1.00", "1.001"):
        response = api.post(f"/transactions/{sale['id']}/refund", {"amount": amount})
        assert (response.status_code, list(response.json()["fields"])) == (422, ["amount"]), amount
        assert 'e.g. "12.50"' in response.json()["fields"]["amount"], amount  # no regular expression shown
    assert Transaction.objects.get(pk=sale["id"]).refunded_amount == 0


def test_a_refund_of_a_pending_sale_is_refused(api, merchant, program, customer):
    sale = api.post("/transactions", sale_body(api, customer, status="pending")).json()
    response = api.post(f"/transactions/{sale['id']}/refund", {})
    assert (response.status_code, response.json()["code"]) == (409, "refund_refused")


def test_one_sale_reads_as_it_was_written(api, merchant, program, customer):
    sale = api.post("/transactions", sale_body(api, customer)).json()
    assert api.get(f"/transactions/{sale['id']}").json() == sale
    assert api.get("/transactions/not-a-uuid").status_code == 422


def test_the_list_filters_and_pages_with_a_cursor(api, merchant, program, customer):
    sales = [complete_sale(merchant=merchant, customer=customer, amount=f"{n}.00") for n in range(1, 6)]
    Transaction.objects.create(merchant=merchant, customer=customer, amount=Decimal("9.00"))  # pending
    seen, cursor = [], None
    while True:
        page = api.get("/transactions", status="completed", limit=2, **({"cursor": cursor} if cursor else {})).json()
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == [str(sale.pk) for sale in sorted(sales, key=lambda s: (s.created_at, s.pk), reverse=True)]
    assert len(api.get("/transactions", status="pending").json()["items"]) == 1
    future = (timezone.now() + timedelta(days=1)).isoformat()
    assert api.get("/transactions", created_after=future).json()["items"] == []
    assert api.get("/transactions", cursor="garbage").status_code == 422
    assert api.get("/transactions", limit=1000).status_code == 422
    assert api.get("/transactions", created_after="2026-01-01T00:00:00").json()["code"] == "invalid"
    assert api.get("/transactions", created_after="0330-08-16T10:40:44+18:46").status_code == 200  # found by fuzzing
    assert api.get("/transactions", created_after="0001-01-01T00:00:00+05:00").status_code == 422


# Customers and analytics


def test_a_customers_account_and_ledger_page_by_page(api, merchant, program, customer):
    for amount in ("10.00", "20.00", "30.00"):
        complete_sale(merchant=merchant, customer=customer, amount=amount)
    account = api.get(f"/customers/{customer.pk}/account").json()
    assert (account["points"], account["total_spent"], account["total_transactions"]) == (60, "60.00", 3)
    assert account["tier"] is None  # the program has no tiers
    first = api.get(f"/customers/{customer.pk}/ledger", limit=2).json()
    second = api.get(f"/customers/{customer.pk}/ledger", limit=2, cursor=first["next_cursor"]).json()
    changes = [entry["points_change"] for entry in first["items"] + second["items"]]
    assert sorted(changes) == [10, 20, 30] and second["next_cursor"] is None


def test_a_customer_who_never_bought_here_is_404(api, customer):
    assert api.get(f"/customers/{customer.pk}/account").status_code == 404


def test_daily_analytics_for_a_date_range(api, merchant, program, customer):
    complete_sale(merchant=merchant, customer=customer, amount="12.50")
    today = timezone.localdate(timezone=__import__("zoneinfo").ZoneInfo(merchant.timezone))
    first = today - timedelta(days=2)
    body = api.get("/analytics/daily", date_from=first.isoformat(), date_to=today.isoformat()).json()
    assert [day["date"] for day in body["items"]] == [(first + timedelta(days=n)).isoformat() for n in range(3)]
    assert (body["items"][-1]["total_sales"], body["items"][-1]["total_transactions"]) == ("12.50", 1)
    assert body["items"][0]["total_sales"] == "0.00"
    wrong_way = api.get("/analytics/daily", date_from=today.isoformat(), date_to=first.isoformat())
    assert (wrong_way.status_code, wrong_way.json()["fields"]) == (422, {"date_to": "before date_from"})


# The document and its page


def test_the_openapi_document_and_the_docs_page_use_our_own_static_files(client, db):
    document = client.get("/api/v1/openapi.json")
    assert document.status_code == 200
    assert "/api/v1/transactions/{transaction_id}/refund" in document.json()["paths"]
    page = client.get("/api/v1/docs")
    assert page.status_code == 200
    html = page.content.decode()
    assert "/static/ninja/swagger-ui-bundle.js" in html
    assert "cdn" not in html.lower() and "https://" not in html
    assert client.get("/static/ninja/swagger-ui-bundle.js").status_code == 200


@pytest.mark.parametrize("method", ["get", "post"])
def test_an_odd_authorization_header_is_a_401(client, db, method):
    for value in ("Bearer", "Bearer " + "x" * 5000, "Basic abc", "Bearer \u00e9\u00e9"):
        response = getattr(client, method)("/api/v1/transactions", headers={"Authorization": value})
        assert response.status_code in (401, 422), value


def test_the_scan_and_the_account_name_the_customers_tier(api, merchant, program, customer):
    from loyalty.models import LoyaltyTier

    LoyaltyTier.objects.create(program=program, name="Silver", min_points=50)
    LoyaltyTier.objects.create(program=program, name="Gold", min_points=500)
    complete_sale(merchant=merchant, customer=customer, amount="60.00")
    assert scan(api, customer)["tier"] == "Silver"
    account = api.get(f"/customers/{customer.pk}/account").json()
    assert (account["tier"], account["next_tier"], account["points_to_next_tier"]) == ("Silver", "Gold", 440)
