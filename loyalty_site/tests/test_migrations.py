"""Migrations replay: forwards from an older database with data, and backwards through the
frozen copies of the SQL files."""

import json
from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.db import connection, transaction
from django.db.migrations.executor import MigrationExecutor

from customers.tokens import card_secret_hash
from demo.management.commands.seed_demo import LOADED_TABLES
from loyalty.integrity import derived_state_errors
from loyalty.tests.factories import LoyaltyProgramFactory
from merchants.tests.factories import MerchantFactory
from system import sqlfiles

# The leaves before the database's rules moved to SQL files.
BEFORE_SQL_FILES = [
    ("loyalty", "0006_account_standing_function"),
    ("transactions", "0004_points_rules"),
    ("analytics", "0004_hourly"),
]
TABLES = (*LOADED_TABLES, "audit_logs")  # what sales write


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.migrate(targets)


def latest():
    return MigrationExecutor(connection).loader.graph.leaf_nodes()


def tables() -> dict[str, list]:
    with connection.cursor() as cursor:
        rows = {}
        for table in TABLES:
            cursor.execute(f"SELECT to_jsonb(t)::text FROM {table} t ORDER BY 1")
            rows[table] = cursor.fetchall()
        return rows


# Columns later migrations add, or fill on purpose: the card link's secret stored as its hash (customers 0002),
# merged and erased customers, what each account shares (loyalty 0010), and the times of those updates; the
# merchant of the ledger, its lots and the line items (loyalty 0017, transactions 0011: checked on its own).
CHANGED_ON_PURPOSE = {
    "customers": {"card_token", "card_token_hash", "merged_into_id", "erased_at", "updated_at"},
    "customer_loyalty_accounts": {"shares_email", "shares_phone", "updated_at"},
    "points_transactions": {"merchant_id"},
    "points_lots": {"merchant_id"},
    "transaction_items": {"merchant_id"},
}


def without_intended_changes(rows: dict[str, list], *, redact: bool = False) -> dict[str, list]:
    """The tables but what later migrations change on purpose: they add settings (each audited), redact the
    secrets older snapshots held in clear (system 0014), hash the card links' secrets and say what each account
    shares (customers 0002, loyalty 0010: audited updates, and the columns above)."""
    audit = []
    for (text,) in rows["audit_logs"]:
        row = json.loads(text)
        key = (row["new_values"] or {}).get("setting_key", "")
        if row["table_name"] == "system_settings" and row["action"] == "INSERT" and key.startswith("privacy."):
            continue
        if row["table_name"] in CHANGED_ON_PURPOSE and row["action"] == "UPDATE":
            if set(row["changed_fields"] or ()) <= CHANGED_ON_PURPOSE[row["table_name"]]:
                continue
        for side in ("old_values", "new_values"):
            if redact and row["table_name"] == "customers" and (row[side] or {}).get("card_token") is not None:
                row[side]["card_token"] = "[redacted]"
        audit.append(row)
    kept = {"audit_logs": audit}
    for table, columns in CHANGED_ON_PURPOSE.items():
        if table in rows:
            kept[table] = [{k: v for k, v in json.loads(text).items() if k not in columns} for (text,) in rows[table]]
    return {**rows, **kept}


def definitions() -> dict[str, str]:
    with connection.cursor() as cursor:
        return sqlfiles.definitions(cursor)


def sql(query, params=None):
    with connection.cursor() as cursor:
        cursor.execute(query, params)


def customer_insert() -> str:
    """A customer as the older schema had them (with a card token in clear), by SQL."""
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO customers (first_name, email, phone) VALUES ('Ada', 'ada@example.test', '') RETURNING id"
        )
        return cursor.fetchone()[0]


@pytest.mark.django_db(transaction=True)
def test_a_database_with_sales_upgrades_in_place_with_nothing_lost():
    migrate(BEFORE_SQL_FILES)
    try:
        merchant = MerchantFactory()
        LoyaltyProgramFactory(merchant=merchant, points_per_dollar=Decimal("2"), min_redemption_points=10)
        customer = SimpleNamespace(pk=customer_insert())
        for amount in ("40.00", "25.50", "9.99"):
            sql(
                "INSERT INTO transactions (merchant_id, customer_id, amount, status) VALUES (%s, %s, %s, 'completed')",
                [merchant.pk, customer.pk, amount],
            )
        sql(
            "INSERT INTO transactions (merchant_id, customer_id, amount, status, points_redeemed) "
            "VALUES (%s, %s, '30.00', 'completed', 20)",
            [merchant.pk, customer.pk],
        )
        sql("UPDATE transactions SET refunded_amount = 10 WHERE amount = 40")
        sql("UPDATE transactions SET status = 'cancelled' WHERE amount = 9.99")
        before = tables()

        migrate(latest())

        assert without_intended_changes(tables()) == without_intended_changes(before, redact=True)
        # The merchant filled in: the account's, on every ledger row and lot.
        for table in ("points_transactions", "points_lots"):
            with connection.cursor() as cursor:
                cursor.execute(
                    f"SELECT count(*), count(*) FILTER (WHERE r.merchant_id = a.merchant_id) FROM {table} r "
                    "  JOIN customer_loyalty_accounts a ON a.id = r.customer_loyalty_account_id"
                )
                total, right = cursor.fetchone()
                assert total > 0 and right == total, table
        [(token,)] = [(json.loads(t)["card_token"],) for (t,) in before["customers"]]
        with connection.cursor() as cursor:  # the link sent before still opens the card: its hash is stored
            cursor.execute("SELECT card_token_hash FROM customers WHERE id = %s", [customer.pk])
            assert cursor.fetchone() == (card_secret_hash(token),)
        assert derived_state_errors(ledger=True) == []
        sql(
            "INSERT INTO transactions (merchant_id, customer_id, amount, status, points_redeemed) "
            "VALUES (%s, %s, '50.00', 'completed', 10)",
            [merchant.pk, customer.pk],
        )
        with connection.cursor() as cursor:
            cursor.execute("SELECT discount_amount, points_earned FROM transactions WHERE amount = 50")
            assert cursor.fetchone() == (Decimal("0.10"), 99)  # 10 points at 0.01; 2 points a unit of 49.90
        assert derived_state_errors(ledger=True) == []
    finally:
        migrate(latest())


@pytest.mark.django_db(transaction=True)
def test_migrating_backwards_installs_the_versions_before():
    migrate(BEFORE_SQL_FILES)
    try:
        going_back = definitions()
        # Further back, through the migration whose reverse installs frozen first versions, and forwards
        # again through the migrations as they landed: the same functions.
        migrate([("transactions", "0003_refunds")])
        assert "loyalty_tier_for" not in definitions()
        migrate(BEFORE_SQL_FILES)
        assert definitions() == going_back
        assert "ledger_points_earned" not in going_back
    finally:
        migrate(latest())
    with transaction.atomic(), connection.cursor() as cursor:
        assert sqlfiles.differences(cursor) == []
