"""The path to Citus (docs/scale-out.md): every table of the app is classified, every merchant-owned one carries a
required merchant_id, and its unique keys contain it but for the ones the plan names; the doc's table of tables
says the same. And the columns are the right merchant's, whoever writes them."""

import re
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.db import IntegrityError, transaction

from loyalty.integrity import ledger_problems
from loyalty.models import LoyaltyTier, PointsLot, PointsTransaction
from loyalty.testing import account_of
from merchants.tests.factories import MerchantFactory
from system.testing import sql
from transactions.testing import complete_sale

# Distributed by merchant_id, co-located with transactions.
MERCHANT_OWNED = {
    "api_idempotency_records",
    "customer_loyalty_accounts",
    "customer_visits",
    "fraud_flags",
    "loyalty_programs",
    "loyalty_tiers",
    "merchant_daily_analytics",
    "merchant_daily_analytics_deltas",
    "merchant_hourly_analytics",
    "points_lots",
    "points_transactions",
    "qr_scan_logs",
    "qr_scan_sales",
    "scan_pause_lifts",
    "transaction_items",
    "transaction_refunds",
    "transactions",
}
# Copied to every node: small, read by every shard, rarely written.
REFERENCE = {"merchants", "users", "merchant_staff", "api_keys", "system_settings", "customers"}
# A customer's, across merchants (no merchant_id to distribute by).
CUSTOMER_OWNED = {
    "card_codes",
    "card_token_uses",
    "customer_phone_duplicates",
    "erasure_requests",
    "phone_verifications",
    "customer_merges",
}
# The platform's own: logs, outboxes, operations; they stay on the coordinator (audit_logs: see the doc).
PLATFORM_WIDE = {
    "audit_logs",
    "outgoing_emails",
    "outgoing_sms",
    "rate_limit_hits",
    "size_snapshots",
    "database_actions",
}
# Django's, its add-ons' and procrastinate's tables, by prefix: on the coordinator, untouched.
FRAMEWORK_PREFIXES = ("django_", "auth_", "axes_", "otp_", "procrastinate_", "users_groups", "users_user_permissions")
VIEWS = {"merchant_dashboard", "customer_summary"}

# Merchant-owned tables with a unique key that lacks merchant_id today, changed on the Citus cluster (the doc
# says how): a lot's entry (one lot per ledger row), a tier's program keys. Every other unique key of a
# merchant-owned table contains merchant_id (primary keys aside: the doc says when they change).
KEYS_CHANGED_ON_CITUS = {
    "points_lots": {"points_lots_entry_id_key"},
    "loyalty_tiers": {"loyalty_tiers_program_min_points", "loyalty_tiers_program_name"},
}

CLASSES = {
    "merchant-owned": MERCHANT_OWNED,
    "reference": REFERENCE,
    "customer-owned": CUSTOMER_OWNED,
    "platform-wide": PLATFORM_WIDE,
}


def app_relations(kind: str) -> set[str]:
    """The public schema's tables (kind 'table': plain or partitioned, not a partition) or views, but an
    extension's."""
    kinds = ["r", "p"] if kind == "table" else ["v"]
    rows = sql(
        "SELECT c.relname FROM pg_class c "
        " WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = ANY(%s) AND NOT c.relispartition "
        "   AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = c.oid AND d.deptype = 'e')",
        [kinds],
    )
    return {name for (name,) in rows}


def test_every_table_of_the_app_is_classified_once(db):
    tables = {t for t in app_relations("table") if not t.startswith(FRAMEWORK_PREFIXES)}
    classified = set().union(*CLASSES.values())
    assert sum(len(c) for c in CLASSES.values()) == len(classified), "a table is in two classes"
    assert tables - classified == set(), "new tables: classify them here and in docs/scale-out.md"
    assert classified - tables == set(), "tables gone: take them out here and in docs/scale-out.md"
    assert app_relations("view") == VIEWS


def test_every_merchant_owned_table_has_a_required_merchant_id_naming_a_merchant(db):
    rows = sql(
        "SELECT c.relname, a.attnotnull, EXISTS (SELECT 1 FROM pg_constraint f "
        "         WHERE f.conrelid = c.oid AND f.contype = 'f' AND f.conkey = ARRAY[a.attnum] "
        "           AND f.confrelid = 'merchants'::regclass) "
        "  FROM pg_class c LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'merchant_id' "
        "   AND NOT a.attisdropped "
        " WHERE c.relnamespace = 'public'::regnamespace AND c.relname = ANY(%s)",
        [sorted(MERCHANT_OWNED)],
    )
    assert len(rows) == len(MERCHANT_OWNED)
    wrong = {table: (not_null, foreign_key) for table, not_null, foreign_key in rows if not (not_null and foreign_key)}
    assert wrong == {}, "(NOT NULL, foreign key to merchants) of merchant_id"


def test_unique_keys_of_merchant_owned_tables_contain_merchant_id_but_the_named_ones(db):
    rows = sql(
        "SELECT c.relname, i.relname FROM pg_index x "
        "  JOIN pg_class c ON c.oid = x.indrelid JOIN pg_class i ON i.oid = x.indexrelid "
        " WHERE x.indisunique AND NOT x.indisprimary AND c.relname = ANY(%s) "
        "   AND c.relnamespace = 'public'::regnamespace "
        "   AND NOT EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'merchant_id' "
        "                      AND a.attnum = ANY(x.indkey::smallint[]))",
        [sorted(MERCHANT_OWNED)],
    )
    lacking: dict[str, set[str]] = {}
    for table, index in rows:
        lacking.setdefault(table, set()).add(index)
    assert lacking == KEYS_CHANGED_ON_CITUS


def test_the_docs_table_of_tables_names_the_same_classes():
    text = (Path(settings.BASE_DIR) / "docs" / "scale-out.md").read_text()
    in_doc: dict[str, set[str]] = {}
    for table, kind in re.findall(r"^\| `([a-z_]+)` \| ([a-z-]+) \|", text, flags=re.M):
        in_doc.setdefault(kind, set()).add(table)
    assert in_doc == CLASSES
    for table, indexes in KEYS_CHANGED_ON_CITUS.items():
        for index in indexes:
            assert f"`{index}`" in text, f"docs/scale-out.md should say what becomes of {table}'s {index}"


# The right merchant, whoever writes.


def test_a_sale_writes_its_merchant_on_its_ledger_rows_lots_and_items(merchant, program, customer):
    sale = complete_sale(merchant=merchant, customer=customer, amount="20.00")
    sql(
        "INSERT INTO transaction_items (transaction_id, merchant_id, product_name, unit_price) "
        "VALUES (%s, %s, 'Tea', 2)",
        [sale.id, merchant.id],
    )
    assert {e.merchant_id for e in PointsTransaction.objects.filter(transaction=sale)} == {merchant.id}
    assert {lot.merchant_id for lot in PointsLot.objects.filter(entry__transaction=sale)} == {merchant.id}
    assert sql("SELECT merchant_id FROM transaction_items WHERE transaction_id = %s", [sale.id]) == [(merchant.id,)]


def test_a_raw_item_without_merchant_takes_its_sales(merchant, program, customer):
    sale = complete_sale(merchant=merchant, customer=customer, amount="20.00")
    [(merchant_id,)] = sql(
        "INSERT INTO transaction_items (transaction_id, product_name, unit_price) VALUES (%s, 'Tea', 2) "
        "RETURNING merchant_id",
        [sale.id],
    )
    assert merchant_id == merchant.id


def test_a_raw_ledger_row_without_merchant_takes_its_accounts(merchant, program, customer):
    complete_sale(merchant=merchant, customer=customer, amount="20.00")
    account = account_of(customer, merchant)
    [(merchant_id,)] = sql(
        "INSERT INTO points_transactions (customer_loyalty_account_id, transaction_type, points_change) "
        "VALUES (%s, 'adjust', 5) RETURNING merchant_id",
        [account.id],
    )
    assert merchant_id == merchant.id


def test_a_ledger_row_naming_another_merchant_is_refused_and_changes_nothing(merchant, program, customer):
    complete_sale(merchant=merchant, customer=customer, amount="20.00")
    account = account_of(customer, merchant)
    other = MerchantFactory()
    with pytest.raises(IntegrityError, match="belongs to its account's merchant"), transaction.atomic():
        sql(
            "INSERT INTO points_transactions (customer_loyalty_account_id, merchant_id, transaction_type, "
            "points_change) VALUES (%s, %s, 'adjust', 5)",
            [account.id, other.id],
        )
    account.refresh_from_db()
    assert account.current_points == 20
    assert PointsTransaction.objects.filter(merchant=other).count() == 0


def test_an_item_naming_another_merchant_than_its_sales_is_refused(merchant, program, customer):
    sale = complete_sale(merchant=merchant, customer=customer, amount="20.00")
    other = MerchantFactory()
    with pytest.raises(IntegrityError, match="transaction_items_merchant_transaction_fk"), transaction.atomic():
        sql(
            "INSERT INTO transaction_items (transaction_id, merchant_id, product_name, unit_price) "
            "VALUES (%s, %s, 'Tea', 2)",
            [sale.id, other.id],
        )
        sql("SET CONSTRAINTS ALL IMMEDIATE")
    assert sql("SELECT count(*) FROM transaction_items") == [(0,)]


def test_a_tier_takes_its_programs_merchant_and_refuses_another(merchant, program):
    tier = LoyaltyTier.objects.create(program=program, name="Gold", min_points=100, multiplier=Decimal("2"))
    assert sql("SELECT merchant_id FROM loyalty_tiers WHERE id = %s", [tier.id]) == [(merchant.id,)]
    other = MerchantFactory()
    with pytest.raises(IntegrityError, match="belongs to its program's merchant"), transaction.atomic():
        sql("UPDATE loyalty_tiers SET merchant_id = %s WHERE id = %s", [other.id, tier.id])
    assert sql("SELECT merchant_id FROM loyalty_tiers WHERE id = %s", [tier.id]) == [(merchant.id,)]


def test_check_ledger_finds_a_bulk_loaded_ledger_row_of_another_merchant(merchant, program, customer):
    complete_sale(merchant=merchant, customer=customer, amount="20.00")
    account = account_of(customer, merchant)
    other = MerchantFactory()
    assert ledger_problems() == []
    with transaction.atomic():
        sql("SET LOCAL session_replication_role = replica")  # a bulk load: the ledger's trigger is off
        sql(
            "INSERT INTO points_transactions (customer_loyalty_account_id, merchant_id, transaction_type, "
            "points_change, balance_after) VALUES (%s, %s, 'adjust', -5, 15)",
            [account.id, other.id],
        )
        sql("UPDATE customer_loyalty_accounts SET current_points = 15 WHERE id = %s", [account.id])
        sql("UPDATE points_lots SET remaining = remaining - 5 WHERE customer_loyalty_account_id = %s", [account.id])
        problems = ledger_problems()
        transaction.set_rollback(True)
    assert [problem for _, problem, _ in problems] == ["a ledger row or lot names another merchant than its account's"]


def test_a_lots_merchant_cannot_be_changed_by_hand(merchant, program, customer):
    complete_sale(merchant=merchant, customer=customer, amount="20.00")
    other = MerchantFactory()
    with pytest.raises(IntegrityError, match="only their expiry date"), transaction.atomic():
        sql("UPDATE points_lots SET merchant_id = %s", [other.id])
    assert {lot.merchant_id for lot in PointsLot.objects.all()} == {merchant.id}
