"""An Idempotency-Key makes a retry return the first response and change nothing, also when retries race."""

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
import requests
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from api.models import IdempotencyRecord
from api.services import api_key_create, idempotency_purge
from loyalty.testing import account_of, ledger_sum
from loyalty.tests.factories import LoyaltyProgramFactory
from system.models import QRScanLog
from transactions.models import Transaction


def new_sale(api, customer, **fields) -> dict:
    scan_id = api.post("/scans", {"code": customer.customer_code}).json()["scan_id"]
    return {"scan_id": scan_id, "customer_id": str(customer.pk), "amount": "25.00", **fields}


def test_a_retry_with_the_same_key_and_body_returns_the_first_response(api, merchant, program, customer):
    body = new_sale(api, customer)
    first = api.post("/transactions", body, key="sale-1")
    retry = api.post("/transactions", body, key="sale-1")
    assert (first.status_code, retry.status_code) == (201, 201)
    assert retry.json() == first.json()
    assert retry["Idempotent-Replayed"] == "true"
    assert Transaction.objects.count() == 1
    assert account_of(customer, merchant).current_points == 25


def test_the_same_key_with_another_body_is_409_and_changes_nothing(api, merchant, program, customer):
    body = new_sale(api, customer)
    api.post("/transactions", body, key="sale-1")
    other = api.post("/transactions", {**body, "amount": "99.00"}, key="sale-1")
    assert (other.status_code, other.json()["code"]) == (409, "idempotency_key_reused")
    assert list(Transaction.objects.values_list("amount", flat=True)) == [25]


def test_the_order_of_json_fields_does_not_make_another_body(api, merchant, program, customer):
    body = new_sale(api, customer)
    first = api.post("/transactions", body, key="k")
    retry = api.post("/transactions", dict(reversed(list(body.items()))), key="k")
    assert retry.json() == first.json()


def test_a_refused_write_is_replayed_as_refused(api, merchant, program, customer):
    sale = api.post("/transactions", new_sale(api, customer, status="pending")).json()
    api.post(f"/transactions/{sale['id']}/cancel")
    first = api.post(f"/transactions/{sale['id']}/complete", key="c1")
    retry = api.post(f"/transactions/{sale['id']}/complete", key="c1")
    assert first.status_code == retry.status_code == 409
    assert retry.json() == first.json()


def test_a_retried_refund_refunds_once_and_answers_the_same(api, merchant, program, customer):
    sale = api.post("/transactions", new_sale(api, customer)).json()
    first = api.post(f"/transactions/{sale['id']}/refund", {}, key="r1")
    retry = api.post(f"/transactions/{sale['id']}/refund", {}, key="r1")
    assert first.status_code == retry.status_code == 200
    assert retry.json() == first.json()


def test_a_retried_scan_is_logged_once(api, merchant, customer):
    first = api.post("/scans", {"code": customer.customer_code}, key="s1")
    retry = api.post("/scans", {"code": customer.customer_code}, key="s1")
    assert retry.json()["scan_id"] == first.json()["scan_id"]
    assert QRScanLog.objects.count() == 1


def test_failed_scans_under_keys_are_logged_and_reach_the_scan_limit(api, merchant, customer):
    for n in range(5):  # scan.max_failures distinct wrong codes
        response = api.post("/scans", {"code": f"NOT-A-CODE-{n}"}, key=f"bad-{n}")
        assert (response.status_code, response.json()["code"]) == (422, "malformed")
    assert QRScanLog.objects.filter(merchant=merchant, scan_result="malformed").count() == 5
    response = api.post("/scans", {"code": customer.customer_code}, key="good")
    assert (response.status_code, response.json()["code"]) == (429, "scan_rate_limited")
    assert response.headers["Retry-After"] == "600"
    retry = api.post("/scans", {"code": customer.customer_code}, key="good")
    assert (retry.status_code, retry.json()) == (429, response.json())
    assert QRScanLog.objects.filter(merchant=merchant, scan_result="rate_limited").count() == 1


def test_an_invalid_request_claims_no_key(api, merchant, program, customer):
    body = new_sale(api, customer)
    assert api.post("/transactions", {**body, "amount": 1.5}, key="k").status_code == 422
    assert api.post("/transactions", body, key="k").status_code == 201


def test_a_malformed_key_is_refused(api, merchant, customer):
    for key in ("has space", "x" * 97):
        response = api.post("/scans", {"code": customer.customer_code}, key=key)
        assert (response.status_code, list(response.json()["fields"])) == (422, ["Idempotency-Key"])
    assert not QRScanLog.objects.exists()


def test_keys_are_per_merchant(api, merchant, program, customer, client):
    from merchants.models import MerchantStaff
    from merchants.tests.factories import MerchantFactory, MerchantStaffFactory

    other = MerchantFactory()
    LoyaltyProgramFactory(merchant=other)
    owner = MerchantStaffFactory(merchant=other, role=MerchantStaff.Role.OWNER).user
    _, their_raw = api_key_create(merchant=other, name="Their till", acting_user=owner)
    mine = api.post("/scans", {"code": customer.customer_code}, key="same")
    theirs = client.post(
        "/api/v1/scans",
        {"code": customer.customer_code},
        content_type="application/json",
        headers={"Authorization": f"Bearer {their_raw}", "Idempotency-Key": "same"},
    )
    assert mine.status_code == theirs.status_code == 200
    assert mine.json()["scan_id"] != theirs.json()["scan_id"]


def test_keys_are_kept_a_day_and_then_purged(api, merchant, customer):
    api.post("/scans", {"code": customer.customer_code}, key="old")
    assert idempotency_purge(now=timezone.now() + timedelta(hours=23)) == 0
    assert idempotency_purge(now=timezone.now() + timedelta(hours=25)) == 1
    assert not IdempotencyRecord.objects.exists()


RACERS = 6


@pytest.mark.django_db(transaction=True)
def test_racing_retries_against_a_live_server_record_one_sale(live_server, merchant, customer, staff):
    LoyaltyProgramFactory(merchant=merchant)
    _, raw = api_key_create(merchant=merchant, name="Till", acting_user=staff["owner"])
    headers = {"Authorization": f"Bearer {raw}"}
    url = f"{live_server.url}/api/v1"
    scan_id = requests.post(f"{url}/scans", json={"code": customer.customer_code}, headers=headers, timeout=30).json()[
        "scan_id"
    ]
    body = {"scan_id": scan_id, "customer_id": str(customer.pk), "amount": "25.00"}
    start = threading.Barrier(RACERS)

    def till(_):
        start.wait()
        try:
            response = requests.post(
                f"{url}/transactions", json=body, headers={**headers, "Idempotency-Key": "race-1"}, timeout=60
            )
            return response.status_code, response.json()
        finally:
            connection.close()

    with ThreadPoolExecutor(RACERS) as pool:
        answers = list(pool.map(till, range(RACERS)))

    assert {status for status, _ in answers} == {201}, answers
    assert len({answer["id"] for _, answer in answers}) == 1
    assert Transaction.objects.filter(merchant=merchant).count() == 1
    account = account_of(customer, merchant)
    assert account.current_points == 25 == ledger_sum(account)


@pytest.mark.django_db(transaction=True)
def test_racing_refunds_with_one_key_refund_once(live_server, merchant, customer, staff):
    LoyaltyProgramFactory(merchant=merchant)
    _, raw = api_key_create(merchant=merchant, name="Till", acting_user=staff["owner"])
    headers = {"Authorization": f"Bearer {raw}"}
    url = f"{live_server.url}/api/v1"
    scan_id = requests.post(f"{url}/scans", json={"code": customer.customer_code}, headers=headers, timeout=30).json()[
        "scan_id"
    ]
    sale = requests.post(
        f"{url}/transactions",
        json={"scan_id": scan_id, "customer_id": str(customer.pk), "amount": "25.00"},
        headers=headers,
        timeout=30,
    ).json()
    start = threading.Barrier(RACERS)

    def till(_):
        start.wait()
        response = requests.post(
            f"{url}/transactions/{sale['id']}/refund", json={}, headers={**headers, "Idempotency-Key": "r"}, timeout=60
        )
        return response.status_code

    with ThreadPoolExecutor(RACERS) as pool:
        assert set(pool.map(till, range(RACERS))) == {200}
    account = account_of(customer, merchant)
    assert account.current_points == 0 == ledger_sum(account)


def test_a_key_older_than_the_kept_hours_is_claimed_anew_and_the_sale_still_recorded_once(
    api, merchant, program, customer
):
    body = new_sale(api, customer)
    assert api.post("/transactions", body, key="old-key").status_code == 201
    IdempotencyRecord.objects.update(created_at=timezone.now() - timedelta(hours=25))

    again = api.post("/transactions", body, key="old-key")

    assert again.status_code == 200  # made anew: the sale's own key finds the first sale
    assert "Idempotent-Replayed" not in again
    assert Transaction.objects.count() == 1
    assert IdempotencyRecord.objects.get().created_at > timezone.now() - timedelta(hours=1)


def test_a_new_key_costs_the_write_one_statement(api, merchant, program, customer):
    def statements(key):
        with CaptureQueriesContext(connection) as queries:
            assert api.post("/scans", {"code": customer.customer_code}, key=key).status_code == 200
        return [q["sql"] for q in queries.captured_queries if "SAVEPOINT" not in q["sql"]]

    plain, keyed = statements(None), statements("scan-1")

    assert len(keyed) == len(plain) + 1
    assert sum("api_idempotency_records" in sql for sql in keyed) == 1


def test_a_retry_of_a_committed_write_is_undone_and_answered_as_the_first(api, merchant, program, customer):
    body = new_sale(api, customer)
    first = api.post("/transactions", body, key="sale-1")
    IdempotencyRecord.objects.update(response_body='{"stored": true}')

    retry = api.post("/transactions", body, key="sale-1")

    assert (first.status_code, retry.status_code) == (201, 201)
    assert retry.json() == {"stored": True}  # the stored answer, not the retry's own
    assert Transaction.objects.count() == 1
    assert QRScanLog.objects.filter(sale__isnull=False).count() == 1
