"""Migrations replay: forwards from an older database with data, and backwards through the
frozen copies of the SQL files."""

from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.db.migrations.executor import MigrationExecutor

from customers.tests.factories import CustomerFactory
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


def definitions() -> dict[str, str]:
    with connection.cursor() as cursor:
        return sqlfiles.definitions(cursor)


def sql(query, params=None):
    with connection.cursor() as cursor:
        cursor.execute(query, params)


@pytest.mark.django_db(transaction=True)
def test_a_database_with_sales_upgrades_in_place_with_nothing_lost():
    migrate(BEFORE_SQL_FILES)
    try:
        merchant = MerchantFactory()
        LoyaltyProgramFactory(merchant=merchant, points_per_dollar=Decimal("2"), min_redemption_points=10)
        customer = CustomerFactory()
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

        assert tables() == before
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
