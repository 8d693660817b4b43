"""Secrets never reach audit_logs: every audited table's column whose name looks secret is one of its
audit_secret_columns (or reviewed below as no secret), and the audit trigger writes "[redacted]" for those
values while still listing a change of one. Snapshots written before this carried the card token in clear: the
migration redacted them, through the only UPDATE the audit log allows."""

import json
import re

import pytest
from django.db import IntegrityError, transaction

from system.models import AuditLog
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


SECRET_LOOKING = re.compile(r"token|secret|password|hash|otp|_key$")

# Reviewed: columns whose name looks secret but whose value is none, with why.
NOT_SECRET = {
    # The till's retry key of one sale (Idempotency-Key): chosen by the till, unique per merchant, it grants
    # nothing; it identifies the request, as the sale's id does.
    "transactions.idempotency_key": "a request's id, not a credential",
    # A setting's name (e.g. scan.max_failures), never its value's secret.
    "system_settings.setting_key": "a setting's name",
}


def audited_columns() -> list[tuple[str, str, list[str]]]:
    """(table, column, the table's audit_secret_columns) of every table carrying an audit trigger."""
    return sql(
        """
        SELECT DISTINCT c.relname::text, a.attname::text, audit_secret_columns(c.relname::text)
          FROM pg_trigger t
          JOIN pg_class c ON c.oid = t.tgrelid
          JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
         WHERE t.tgfoid = 'audit_row_change'::regproc
         ORDER BY 1, 2
        """
    )


def test_every_secret_looking_column_of_an_audited_table_is_redacted_by_the_audit_trigger():
    columns = audited_columns()
    assert {table for table, _, _ in columns} >= {"customers", "transactions", "merchants", "system_settings"}
    unredacted = [
        f"{table}.{column}"
        for table, column, secrets in columns
        if SECRET_LOOKING.search(column) and column not in secrets and f"{table}.{column}" not in NOT_SECRET
    ]
    assert unredacted == [], "add these to system/sql/audit_secret_columns.sql (or review them into NOT_SECRET)"


def test_the_reviewed_allow_list_names_only_audited_columns_that_look_secret():
    found = {f"{table}.{column}" for table, column, _ in audited_columns() if SECRET_LOOKING.search(column)}
    assert set(NOT_SECRET) <= found, "a reviewed column is gone or renamed: remove it from NOT_SECRET"


def test_the_card_column_of_customers_is_found_secret():
    """The check above would catch a new card column: today's is one of the audited, secret-looking columns."""
    found = {(table, column) for table, column, secrets in audited_columns() if column in secrets}
    assert ("customers", card_column()) in found


def card_column() -> str:
    """customers.card_token, or card_token_hash once it is renamed."""
    [(name,)] = sql(
        "SELECT column_name::text FROM information_schema.columns WHERE table_schema = 'public'"
        " AND table_name = 'customers' AND column_name IN ('card_token', 'card_token_hash')"
    )
    return name


def test_a_customers_card_secret_never_reaches_the_audit_log_in_clear():
    column = card_column()
    customer_id = new_customer(email="ada@example.test", **{column: "e" * 64})  # a card link issued
    [(first,)] = sql(f"SELECT {column} FROM customers WHERE id = %s", [customer_id])
    new_secret = "f" * 64 if column.endswith("_hash") else "rotated-card-secret-0123456789"
    sql(f"UPDATE customers SET {column} = %s WHERE id = %s", [new_secret, customer_id])
    sql("UPDATE customers SET first_name = 'Ada' WHERE id = %s", [customer_id])  # a change of no secret

    logs = AuditLog.objects.filter(table_name="customers", record_id=customer_id).order_by("created_at", "id")
    inserted, *updates = logs
    assert inserted.new_values[column] == "[redacted]"
    rotation = next(log for log in updates if column in log.changed_fields)  # a rotation shows as a change
    assert (rotation.old_values[column], rotation.new_values[column]) == ("[redacted]", "[redacted]")
    assert all(log.new_values[column] == "[redacted]" for log in updates)
    assert any(log.new_values["first_name"] == "Ada" for log in updates)  # the rest as it was
    for secret in (first, new_secret):
        assert sql("SELECT count(*) FROM audit_logs WHERE old_values::text LIKE %s OR new_values::text LIKE %s",
                   [f"%{secret}%", f"%{secret}%"]) == [(0,)]  # fmt: skip


def redacted(table: str, values: dict) -> dict:
    [(text,)] = sql("SELECT audit_redacted(%s, %s::jsonb, NULL)::text", [table, json.dumps(values)])
    return json.loads(text)


def test_a_null_secret_stays_null_and_a_table_without_secrets_is_untouched():
    assert redacted("customers", {"card_token": None, "email": "a@b.test"}) == {"card_token": None, "email": "a@b.test"}
    assert redacted("api_keys", {"key_hash": "ab" * 32, "name": "till 1"}) == {
        "key_hash": "[redacted]",
        "name": "till 1",
    }
    values = {"idempotency_key": "k-1", "amount": "1.00"}
    assert redacted("transactions", values) == values


def test_the_migration_redacted_a_snapshot_written_in_clear_through_the_only_update_allowed():
    """A snapshot as the trigger wrote them before: the card token in clear (loaded past the guard)."""
    from importlib import import_module

    customer_id = new_customer()
    sql("SET LOCAL session_replication_role = replica")  # the test's transaction: until set back below
    sql(
        "INSERT INTO audit_logs (table_name, record_id, action, new_values) VALUES ('customers', %s, 'INSERT',"
        """ '{"id": "x", "card_token": "clear-secret", "email": "ada@example.test"}')""",
        [customer_id],
    )
    sql("SET LOCAL session_replication_role = origin")
    migration = import_module("system.migrations.0014_audit_redaction")
    sql(migration.REDACT_OLD_SECRETS)

    [(values,)] = sql(
        "SELECT new_values::text FROM audit_logs WHERE record_id = %s AND new_values->>'id' = 'x'", [customer_id]
    )
    assert json.loads(values) == {"id": "x", "card_token": "[redacted]", "email": "ada@example.test"}
    # any other change of that row still raises
    with pytest.raises(IntegrityError, match="audit_logs is append-only"), transaction.atomic():
        sql(
            """UPDATE audit_logs SET new_values = new_values || '{"email": "eve@example.test"}'"""
            " WHERE record_id = %s AND new_values->>'id' = 'x'",
            [customer_id],
        )
