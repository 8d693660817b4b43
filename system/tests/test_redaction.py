"""redact_customer_logs(customer, reason): a customer's personal values leave its audit history and its scans,
the redaction is itself audited, and the audit log's guard lets exactly that UPDATE through: any other UPDATE
and every DELETE of audit_logs still raise."""

import json
import uuid
from types import SimpleNamespace

import pytest
from django.conf import settings
from django.db import DatabaseError, IntegrityError, transaction

from system.models import QRScanLog
from system.testing import sql

pytestmark = pytest.mark.django_db


def new_customer(first_name="Ada", **values) -> str:
    """A customer, by SQL (customers is an app above system): its id."""
    values = {"first_name": first_name, **values}
    columns = ", ".join(values)
    [(customer_id,)] = sql(
        f"INSERT INTO customers ({columns}) VALUES ({', '.join(['%s'] * len(values))}) RETURNING id",
        list(values.values()),
    )
    return customer_id


PERSONAL = ("first_name", "last_name", "email", "phone", "date_of_birth")


def history(customer_id) -> list[dict]:
    rows = sql(
        "SELECT action, old_values::text, new_values::text, changed_fields::text, user_id FROM audit_logs"
        " WHERE table_name = 'customers' AND record_id = %s ORDER BY created_at, id",
        [customer_id],
    )
    return [
        {
            "action": action,
            "old": json.loads(old) if old else None,
            "new": json.loads(new) if new else None,
            "changed": json.loads(changed) if changed else None,
            "user_id": user_id,
        }
        for action, old, new, changed, user_id in rows
    ]


def code_of(customer) -> str:
    [(code,)] = sql("SELECT customer_code FROM customers WHERE id = %s", [customer.id])
    return code


def scan(merchant, customer, code, **extra):
    return QRScanLog.objects.create(
        merchant=merchant,
        customer_id=customer.id if customer else None,
        scanned_code=code,
        scan_result="success" if customer else "static_code_refused",
        ip_address="203.0.113.9",
        user_agent="Mozilla/5.0 (counter)",
        **extra,
    )


@pytest.fixture
def ada(db):
    customer = SimpleNamespace(
        id=new_customer("Ada", last_name="Lovelace", email="ada@example.test", phone="+44 20 7946")
    )
    sql(
        "UPDATE customers SET email = 'ada@analytical.test', date_of_birth = '1815-12-10' WHERE id = %s",
        [customer.id],
    )
    return customer


def redact(customer_id, reason="erasure request 42", user_id=None) -> int:
    if user_id:
        sql("SELECT set_config('app.user_id', %s, true)", [str(user_id)])
    [(changed,)] = sql("SELECT redact_customer_logs(%s, %s)", [customer_id, reason])
    return changed


def test_a_customers_personal_values_leave_its_history_and_the_redaction_is_audited(ada, merchant):
    bob = SimpleNamespace(id=new_customer("Bob", email="bob@example.test"))
    before = history(ada.id)
    assert [row["action"] for row in before] == ["INSERT", "UPDATE"]
    user_id = uuid.uuid4()

    changed = redact(ada.id, user_id=user_id)

    *after, record = history(ada.id)
    assert changed == 2  # two audit rows, no scans
    for old, new in zip(before, after, strict=True):
        for side in ("old", "new"):
            if old[side] is None:
                assert new[side] is None
                continue
            assert set(new[side]) == set(old[side])  # keys kept
            for key, value in old[side].items():
                if key in PERSONAL and value is not None:
                    assert new[side][key] == "[redacted]", key
                elif key in ("card_token", "card_token_hash"):
                    assert new[side][key] == ("[redacted]" if value is not None else None)  # no link: no secret
                else:
                    assert new[side][key] == value, key  # status, code, totals... as they were
        assert new["changed"] == old["changed"]  # changed_fields left
    assert after[1]["changed"] == ["date_of_birth", "email"]
    assert "ada" not in json.dumps(after).lower() and "1815" not in json.dumps(after)

    assert record["action"] == "REDACT" and record["old"] is None
    assert record["new"] == {"reason": "erasure request 42", "audit_rows": 2, "scan_rows": 0}
    assert record["user_id"] == user_id
    assert history(bob.id)[0]["new"]["first_name"] == "Bob"  # another customer's untouched


def test_a_customers_scans_lose_code_address_and_browser(ada, merchant):
    bob = SimpleNamespace(id=new_customer("Bob"))
    own = scan(merchant, ada, "card-token-of-ada")
    typed = scan(merchant, None, code_of(ada))  # a printed code refused: no customer, the code in clear
    others = [scan(merchant, bob, "card-token-of-bob"), scan(merchant, None, code_of(bob))]

    assert redact(ada.id) == 2 + 2

    for row in (own, typed):
        row.refresh_from_db()
        assert (row.scanned_code, row.ip_address, row.user_agent) == ("[redacted]", None, "")
        assert row.merchant_id == merchant.id and row.scan_result  # what the fraud checks count stays
    for row in others:
        kept = QRScanLog.objects.get(pk=row.pk)
        assert (kept.scanned_code, kept.ip_address, kept.user_agent) == (
            row.scanned_code,
            "203.0.113.9",
            row.user_agent,
        )
    assert history(ada.id)[-1]["new"] == {"reason": "erasure request 42", "audit_rows": 2, "scan_rows": 2}


def test_redacting_twice_changes_nothing_more_and_records_the_second_request(ada, merchant):
    scan(merchant, ada, "card-token-of-ada")
    assert redact(ada.id) == 3
    assert redact(ada.id, reason="again") == 0
    records = [row["new"] for row in history(ada.id) if row["action"] == "REDACT"]
    assert records == [
        {"reason": "erasure request 42", "audit_rows": 2, "scan_rows": 1},
        {"reason": "again", "audit_rows": 0, "scan_rows": 0},
    ]


@pytest.mark.parametrize("reason", ["", "  ", None])
def test_a_redaction_needs_a_reason(ada, reason):
    with pytest.raises(DatabaseError, match="a customer and a reason are required"), transaction.atomic():
        redact(ada.id, reason=reason)


def test_a_role_that_cannot_update_the_audit_log_may_still_redact(ada):
    """SECURITY DEFINER: the erasure's caller needs EXECUTE only (the runtime role may not UPDATE audit_logs)."""
    sql(f'SET LOCAL ROLE "{settings.DATABASE_RUNTIME_ROLE}"')
    try:
        with pytest.raises(DatabaseError, match="permission denied"), transaction.atomic():
            sql("UPDATE audit_logs SET new_values = new_values WHERE record_id = %s", [ada.id])
        assert redact(ada.id) == 2
    finally:
        sql("RESET ROLE")
    assert history(ada.id)[0]["new"]["first_name"] == "[redacted]"


@pytest.mark.parametrize(
    "assignment",
    [
        "action = 'DELETE'",
        "created_at = created_at - interval '1 day'",
        "user_id = gen_random_uuid()",
        "changed_fields = NULL",
        # a personal value changed, but not to the redaction
        """new_values = new_values || '{"first_name": "Eve"}'""",
        # a value that is not personal redacted
        """new_values = new_values || '{"status": "[redacted]"}'""",
        # a personal key removed rather than redacted
        "new_values = new_values - 'first_name'",
        # a key added
        """new_values = new_values || '{"note": "[redacted]"}'""",
        # personal values redacted, but another value changed with them
        """new_values = new_values || '{"first_name": "[redacted]", "customer_code": "X"}'""",
    ],
)
def test_any_other_update_of_the_audit_log_raises(ada, assignment):
    with pytest.raises(IntegrityError, match="audit_logs is append-only: UPDATE"), transaction.atomic():
        sql(f"UPDATE audit_logs SET {assignment} WHERE table_name = 'customers' AND record_id = %s", [ada.id])


def test_the_redaction_of_a_value_of_another_table_raises(merchant):
    """Only a table's personal or secret columns: a merchant's email is no customer's data."""
    with pytest.raises(IntegrityError, match="audit_logs is append-only: UPDATE"), transaction.atomic():
        sql(
            "UPDATE audit_logs SET new_values = audit_redacted(table_name, new_values, ARRAY['business_email'])"
            " WHERE table_name = 'merchants' AND record_id = %s",
            [merchant.id],
        )


def test_a_personal_value_redacted_by_hand_passes_as_the_function_would_write_it(ada):
    """The guard checks the row, not the caller: a redaction that is exactly audit_redacted's passes."""
    sql(
        "UPDATE audit_logs SET new_values = audit_redacted('customers', new_values, ARRAY['email'])"
        " WHERE table_name = 'customers' AND record_id = %s AND action = 'INSERT'",
        [ada.id],
    )
    assert history(ada.id)[0]["new"]["email"] == "[redacted]"


def test_deleting_from_the_audit_log_still_raises(ada):
    redact(ada.id)
    with pytest.raises(IntegrityError, match="audit_logs is append-only: DELETE"), transaction.atomic():
        sql("DELETE FROM audit_logs WHERE record_id = %s", [ada.id])
    assert len(history(ada.id)) == 3


def test_the_scans_of_a_customers_code_without_a_customer_are_found_through_an_index():
    sql("SET LOCAL enable_seqscan = off")  # a tiny test table: show that the indexes can serve the query
    plan = "\n".join(
        line
        for (line,) in sql(
            "EXPLAIN SELECT 1 FROM qr_scan_logs s WHERE (s.customer_id = '00000000-0000-4000-8000-000000000000'"
            " OR (s.customer_id IS NULL AND s.scanned_code = 'ABCD1234'))"
        )
    )
    sql("SET LOCAL enable_seqscan = on")
    assert "qr_scan_logs_no_customer_idx" in plan and "qr_scan_logs_customer_idx" in plan
