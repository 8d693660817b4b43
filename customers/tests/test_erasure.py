"""customer_erase: a customer's personal data goes, from their row and from the logs (redact_customer_logs);
what the shops keep stays; twice is harmless; a merged customer is refused; two erasures at once erase once.
And the command erase_customer."""

import datetime
import io
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.core.management import CommandError, ManagementUtility, call_command
from django.db import connection

from customers.models import CardCode, CardTokenUse, Customer, ErasureRequest, PhoneDuplicate
from customers.selectors import customer_by_card_secret
from customers.services import ErasureError, card_link_issue, customer_erase, erasure_request
from customers.tests.factories import CustomerFactory
from merchants.models import User
from system.models import FraudFlag, QRScanLog
from system.testing import sql

pytestmark = pytest.mark.django_db

PHONE = "+61412345678"


@pytest.fixture
def operator(db):
    return User.objects.create_superuser("operator@platform.test", "a-long-test-password")


@pytest.fixture
def person(merchant):
    """A customer with everything personal filled in, a card link, codes, a duplicate phone, scans and a flag."""
    person = CustomerFactory(
        first_name="Zelda", last_name="Quixote", email="zelda@example.test", phone=PHONE,
        date_of_birth=datetime.date(1990, 5, 17),
    )  # fmt: skip
    person.secret = card_link_issue(customer=person)
    later = CustomerFactory(first_name="Other")
    PhoneDuplicate.objects.create(customer=later, phone="+61400000001", same_phone_as=person)
    PhoneDuplicate.objects.create(customer=person, phone="+61499999999", same_phone_as=later)
    CardCode.objects.create(code="AB23CD", customer=person, expires_at=datetime.datetime.now(datetime.UTC))
    CardTokenUse.objects.create(token_digest="f" * 64, customer=person)
    for customer_id in (person.pk, None):
        QRScanLog.objects.create(
            merchant=merchant, customer_id=customer_id, scanned_code=person.customer_code, scan_result="success",
            ip_address="203.0.113.7", user_agent="ZeldaPhone/1.0",
        )  # fmt: skip
    FraudFlag.objects.create(
        merchant=merchant, customer=person, reason="12 sales by Zelda Quixote (x) within 5 minutes"
    )
    return person


def audit_text(customer) -> str:
    [(text,)] = sql(
        "SELECT coalesce(string_agg(coalesce(old_values::text, '') || coalesce(new_values::text, ''), ' '), '')"
        " FROM audit_logs WHERE table_name = 'customers' AND record_id = %s",
        [customer.pk],
    )
    return text


def test_erasure_blanks_the_person_and_keeps_the_customer(person, operator):
    assert "Zelda" in audit_text(person) and "zelda@example.test" in audit_text(person)
    ErasureRequest.objects.create(customer=person)
    result = customer_erase(customer=person, acting_user=operator, reason="Their request by email")
    person.refresh_from_db()
    assert (person.first_name, person.last_name, person.email, person.phone, person.date_of_birth) == (
        "", "", None, "", None,
    )  # fmt: skip
    assert person.status == Customer.Status.ERASED and person.erased_at is not None
    assert person.card_token_hash is None and customer_by_card_secret(person.secret) is None
    assert person.full_name == "Erased customer" and str(person).startswith("Erased customer (")
    assert not CardCode.objects.filter(customer=person).exists()
    assert not CardTokenUse.objects.filter(customer=person).exists()
    assert not PhoneDuplicate.objects.filter(customer=person).exists()
    assert PhoneDuplicate.objects.filter(same_phone_as=person).exists()  # the other customer's phone, theirs
    [request] = ErasureRequest.objects.filter(customer=person)
    assert (request.status, request.decided_by, request.note) == ("done", operator, "Their request by email")
    assert FraudFlag.objects.get(customer=person).reason == "12 sales by Erased customer (x) within 5 minutes"
    assert not result.already_erased and result.log_rows_redacted >= 3 and result.card_codes == 1
    assert any("redacted" in line for line in result.lines())


def test_the_logs_keep_no_personal_value(person, operator):
    customer_erase(customer=person, acting_user=operator, reason="Their request")
    text = audit_text(person)
    for value in ("Zelda", "Quixote", "zelda@example.test", PHONE, "1990-05-17"):
        assert value not in text
    assert "[redacted]" in text
    [(user_id, reason)] = sql(
        "SELECT user_id, new_values->>'reason' FROM audit_logs WHERE table_name = 'customers' AND record_id = %s"
        " AND action = 'REDACT'",
        [person.pk],
    )
    assert (user_id, reason) == (operator.pk, "Their request")
    for scan in QRScanLog.objects.filter(merchant__isnull=False):
        assert (scan.scanned_code, scan.ip_address, scan.user_agent) == ("[redacted]", None, "")


def test_the_phone_and_email_are_free_again_and_pending_phone_codes_go(person, operator, merchant):
    sql(
        "INSERT INTO phone_verifications (id, phone, code_hmac, merchant_id, first_name, last_name, attempts,"
        " created_at, expires_at) VALUES (gen_random_uuid(), %s, 'x', %s, 'Zelda', '', 0, now(), now())",
        [PHONE, merchant.pk],
    )
    customer_erase(customer=person, acting_user=operator, reason="r")
    assert sql("SELECT count(*) FROM phone_verifications") == [(0,)]
    assert CustomerFactory(email="zelda@example.test", phone=PHONE).pk


def test_erasing_twice_is_harmless(person, operator):
    customer_erase(customer=person, acting_user=operator, reason="first")
    before = sql("SELECT count(*) FROM audit_logs WHERE record_id = %s", [person.pk])
    again = customer_erase(customer=person, acting_user=operator, reason="second")
    assert again.already_erased and again.lines() == ["This customer was erased already: nothing more to do."]
    assert sql("SELECT count(*) FROM audit_logs WHERE record_id = %s", [person.pk]) == before


def test_a_reason_is_required_and_nothing_changes_without_one(person, operator):
    with pytest.raises(ErasureError, match="Say why"):
        customer_erase(customer=person, acting_user=operator, reason="  ")
    person.refresh_from_db()
    assert person.status == "active" and person.email == "zelda@example.test"


def test_a_merged_customer_is_refused_naming_the_one_it_was_merged_into(person, operator):
    survivor = CustomerFactory()
    Customer.objects.filter(pk=person.pk).update(status="merged", merged_into=survivor)
    with pytest.raises(ErasureError, match=survivor.customer_code):
        customer_erase(customer=person, acting_user=operator, reason="r")
    person.refresh_from_db()
    assert person.email == "zelda@example.test"


def test_erasing_the_survivor_erases_the_customers_merged_into_it(person, operator):
    survivor = CustomerFactory(first_name="Zed")
    Customer.objects.filter(pk=person.pk).update(status="merged", merged_into=survivor)
    result = customer_erase(customer=survivor, acting_user=operator, reason="r")
    person.refresh_from_db()
    assert result.merged_customers == 1
    assert (person.status, person.merged_into_id, person.first_name, person.email, person.card_token_hash) == (
        "merged", survivor.pk, "", None, None,
    )  # fmt: skip
    assert "Zelda" not in audit_text(person)


def test_an_erased_customer_cannot_ask_again():
    customer = CustomerFactory()
    request, created = erasure_request(customer=customer)
    assert created and erasure_request(customer=customer) == (request, False)
    customer_erase(customer=customer, acting_user=None, reason="r")
    with pytest.raises(ErasureError):
        erasure_request(customer=Customer.objects.get(pk=customer.pk))


def in_thread(work):
    def run(*args):
        try:
            return work(*args)
        finally:
            connection.close()

    return run


@pytest.mark.django_db(transaction=True)
def test_two_erasures_at_once_erase_once():
    customer = CustomerFactory(first_name="Zelda")
    start = threading.Barrier(2)

    @in_thread
    def erase(n):
        start.wait()
        return customer_erase(customer=customer, acting_user=None, reason=f"race {n}")

    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(erase, range(2)))
    assert sorted(result.already_erased for result in results) == [False, True]
    assert sql("SELECT count(*) FROM audit_logs WHERE record_id = %s AND action = 'REDACT'", [customer.pk]) == [(1,)]


@pytest.mark.django_db(transaction=True)
def test_two_requests_at_once_make_one():
    customer = CustomerFactory()
    start = threading.Barrier(4)

    @in_thread
    def ask(_):
        start.wait()
        return erasure_request(customer=customer)[0].pk

    with ThreadPoolExecutor(4) as pool:
        assert len(set(pool.map(ask, range(4)))) == 1
    assert ErasureRequest.objects.filter(customer=customer).count() == 1


# --- manage.py erase_customer -----------------------------------------------------------------------------------


def test_the_command_finds_a_customer_by_code_typed_loosely_and_erases(person):
    out = io.StringIO()
    code = person.customer_code
    call_command("erase_customer", f"{code[:5].lower()}-{code[5:]}", "--yes", "--reason", "Court order", stdout=out)
    person.refresh_from_db()
    assert person.status == "erased" and "audit and scan log rows redacted" in out.getvalue()
    assert sql(
        "SELECT new_values->>'reason' FROM audit_logs WHERE record_id = %s AND action = 'REDACT'", [person.pk]
    ) == [("Court order",)]


def test_the_command_finds_by_email_and_asks_first(person, monkeypatch):
    monkeypatch.setattr("builtins.input", lambda prompt: "no")
    with pytest.raises(CommandError, match="Nothing was erased"):
        call_command("erase_customer", "ZELDA@example.test", stdout=io.StringIO())
    assert Customer.objects.get(pk=person.pk).status == "active"
    monkeypatch.setattr("builtins.input", lambda prompt: "yes")
    out = io.StringIO()
    call_command("erase_customer", "ZELDA@example.test", stdout=out)
    assert "Zelda Quixote" in out.getvalue() and Customer.objects.get(pk=person.pk).status == "erased"


@pytest.mark.parametrize("who", ["nobody@example.test", "22222222222", "not a code"])
def test_the_command_refuses_an_unknown_customer_and_changes_nothing(person, who):
    before = sql("SELECT count(*) FROM audit_logs")
    with pytest.raises(CommandError) as error:
        call_command("erase_customer", who, "--yes", stdout=io.StringIO())
    assert "No customer" in str(error.value) or "code" in str(error.value)
    assert sql("SELECT count(*) FROM audit_logs") == before
    assert Customer.objects.get(pk=person.pk).status == "active"


def test_the_command_exits_1_on_an_unknown_customer(capsys):
    # manage.py turns the CommandError into exit code 1 with the message on stderr.
    with pytest.raises(SystemExit) as exit_:
        ManagementUtility(["manage.py", "erase_customer", "nobody@example.test", "--yes"]).execute()
    assert exit_.value.code == 1 and "No customer has the email" in capsys.readouterr().err
