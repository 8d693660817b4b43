"""A bad value for every constraint gets a clean error and leaves nothing behind.

Each case inserts, by raw SQL, a row that is valid except for one value, and expects an
IntegrityError naming the rule it breaks; afterwards no table has gained or lost a row and
no balance has moved. Coverage tests compare the cases with the catalog, so a constraint or
NOT NULL column added later without a case here fails the suite.
"""

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from customers.models import Customer
from customers.tests.factories import CustomerFactory
from loyalty.models import LoyaltyProgram, LoyaltyTier, PointsLot, PointsTransaction
from loyalty.testing import account_of
from merchants.models import Merchant, User
from merchants.tests.factories import MerchantStaffFactory
from system import codes
from system.models import QRScanLog, SystemSetting
from system.partitions import PARTITIONED
from system.testing import sql
from transactions.models import Transaction, TransactionItem
from transactions.testing import complete_sale

TABLES = [
    "merchants",
    "merchant_staff",
    "customers",
    "loyalty_programs",
    "customer_loyalty_accounts",
    "points_transactions",
    "transactions",
    "transaction_items",
    "merchant_daily_analytics",
    "customer_visits",
    "system_settings",
    "audit_logs",
    "qr_scan_logs",
    "loyalty_tiers",
]

# Written by triggers, not by the rows inserted here, but "nothing behind" covers them too.
SIDE_TABLES = ["merchant_daily_analytics_deltas"]

NOON = datetime(2001, 1, 1, 12, tzinfo=UTC)


@dataclass
class World:
    """Rows for the bad rows to point at or collide with."""

    merchant: Merchant
    customer: Customer
    stranger: Customer  # no account at the merchant yet
    owner_id: object  # a user who is staff of the merchant
    newcomer_id: object  # a user who is not
    sale: Transaction  # completed, 10 points earned
    program_id: object  # the active program, with a tier "Silver" from 500 points
    account_id: object  # 60 points: 10 earned, 50 adjusted in, none redeemed
    lot_id: object  # the lot of the sale's 10 points
    setting_key: str
    visit_date: date
    analytics_date: date


@pytest.fixture
def world(merchant, program, customer, card_secret):
    # Created without a password: hashing one costs more than the rest of the fixture.
    Customer.objects.filter(pk=customer.pk).update(phone="+14155550100")
    customer.refresh_from_db()
    owner = User.objects.create(email="owner@example.test")
    newcomer = User.objects.create(email="newcomer@example.test")
    MerchantStaffFactory(merchant=merchant, user=owner)
    sale = complete_sale(merchant=merchant, customer=customer, amount="10.00", idempotency_key="world-sale")
    account = account_of(customer, merchant)
    PointsTransaction.objects.create(customer_loyalty_account=account, transaction_type="adjust", points_change=50)
    account.refresh_from_db()
    assert (account.current_points, account.total_points_earned, account.total_points_redeemed) == (60, 10, 0)
    LoyaltyTier.objects.create(program=program, name="Silver", min_points=500, multiplier=Decimal("1.25"))
    SystemSetting.objects.create(setting_key="points.expiry_warning_days", setting_value="30", value_type="integer")
    QRScanLog.objects.create(
        merchant=merchant, scanned_code=customer.customer_code, scan_result="success", customer=customer, sale=sale
    )
    [(visit_date,)] = sql("SELECT visit_date FROM customer_visits WHERE customer_id = %s", [customer.id])
    [(analytics_date,)] = sql("SELECT date FROM merchant_daily_analytics WHERE merchant_id = %s", [merchant.id])
    merchant.refresh_from_db()
    customer.refresh_from_db()
    return World(
        merchant=merchant,
        customer=customer,
        stranger=CustomerFactory(),
        owner_id=owner.id,
        newcomer_id=newcomer.id,
        sale=sale,
        program_id=program.id,
        account_id=account.id,
        lot_id=PointsLot.objects.get(entry__transaction=sale).id,
        setting_key="points.expiry_warning_days",
        visit_date=visit_date,
        analytics_date=analytics_date,
    )


# One valid row per table, naming only the columns without a default (and what the case needs).
VALID_ROW: dict[str, Callable[[World], dict]] = {
    "merchants": lambda w: {"business_name": "Second Shop", "business_email": "second@example.test"},
    "merchant_staff": lambda w: {"merchant_id": w.merchant.id, "user_id": w.newcomer_id, "role": "cashier"},
    "customers": lambda w: {"first_name": "Ada", "email": "ada@example.test"},
    "loyalty_programs": lambda w: {"merchant_id": w.merchant.id, "name": "Autumn", "is_active": False},
    "customer_loyalty_accounts": lambda w: {"customer_id": w.stranger.id, "merchant_id": w.merchant.id},
    "points_transactions": lambda w: {
        "customer_loyalty_account_id": w.account_id,
        "transaction_type": "adjust",
        "points_change": 5,
    },
    "transactions": lambda w: {"merchant_id": w.merchant.id, "customer_id": w.customer.id, "amount": Decimal("5")},
    "transaction_items": lambda w: {
        "transaction_id": w.sale.id,
        "merchant_id": w.merchant.id,
        "product_name": "Coffee",
        "unit_price": Decimal("2.50"),
    },
    "merchant_daily_analytics": lambda w: {"merchant_id": w.merchant.id, "date": date(2001, 1, 1)},
    "customer_visits": lambda w: {
        "customer_id": w.customer.id,
        "merchant_id": w.merchant.id,
        "visit_date": date(2001, 1, 1),
        "first_visit_at": NOON,
        "last_visit_at": NOON,
    },
    "system_settings": lambda w: {"setting_key": "qr.max_failed_scans", "setting_value": "5", "value_type": "integer"},
    "audit_logs": lambda w: {"table_name": "merchants", "record_id": w.merchant.id, "action": "UPDATE"},
    "qr_scan_logs": lambda w: {"merchant_id": w.merchant.id, "scanned_code": "XYZ", "scan_result": "malformed"},
    "loyalty_tiers": lambda w: {"program_id": w.program_id, "name": "Gold", "min_points": 1000},
}


def mistype(code: str) -> str:
    """`code` with its middle character replaced: the check character no longer fits."""
    middle = len(code) // 2
    typo = code[:middle] + next(c for c in codes.ALPHABET if c != code[middle]) + code[middle + 1 :]
    assert not codes.is_valid(typo)
    return typo


def row_for(world: World, table: str, change: dict) -> dict:
    row = VALID_ROW[table](world)
    row.update({column: value(world) if callable(value) else value for column, value in change.items()})
    return row


def insert(table: str, row: dict) -> None:
    columns = ", ".join(row)
    placeholders = ", ".join(["%s"] * len(row))
    sql(f"INSERT INTO {table} ({columns}) VALUES ({placeholders})", list(row.values()))


def snapshot() -> dict:
    """Row counts of every table, and every account's points."""
    state = {table: sql(f"SELECT count(*) FROM {table}")[0][0] for table in TABLES + SIDE_TABLES}
    state["points"] = sql(
        "SELECT id, current_points, total_points_earned, total_points_redeemed FROM customer_loyalty_accounts "
        "ORDER BY id"
    )
    return state


def describe(change: dict) -> str:
    return ",".join(f"{k}=<existing>" if callable(v) else f"{k}={v!r}" for k, v in change.items())


def case(table, rule, change):
    return pytest.param(table, rule, change, id=f"{rule}[{describe(change)}]")


# --- the cases ---------------------------------------------------------------------------------

# (table inserted into, constraint, bad values). Points columns of an account move only through
# the ledger, so their checks are reached by inserting a ledger row.
CHECKS = [
    case("loyalty_programs", "loyalty_programs_max_points_positive", {"max_points_per_transaction": 0}),
    case("transactions", "transactions_points_redeemed_nonnegative", {"points_redeemed": -1}),
    case("merchants", "merchants_status_valid", {"status": "closed"}),
    case("merchants", "merchants_subscription_plan_valid", {"subscription_plan": "gold"}),
    case("merchants", "merchants_merchant_code_valid", {"merchant_code": lambda w: mistype(codes.generate(9))}),
    case("merchants", "merchants_merchant_code_valid", {"merchant_code": "ABCD-EFGH"}),
    case("merchants", "merchants_merchant_code_length", {"merchant_code": ""}),
    case("merchants", "merchants_merchant_code_length", {"merchant_code": lambda w: codes.generate(11)}),
    case("merchants", "merchants_timezone_valid", {"timezone": "Mars/Olympus"}),
    case("merchants", "merchants_timezone_valid", {"timezone": ""}),
    case("merchants", "merchants_currency_valid", {"currency": "usd"}),
    case("merchants", "merchants_currency_valid", {"currency": "EU"}),
    case("merchants", "merchants_currency_valid", {"currency": "US1"}),
    case("merchant_staff", "merchant_staff_role_valid", {"role": "boss"}),
    case("customers", "customers_status_valid", {"status": "gone"}),
    case("customers", "customers_customer_code_valid", {"customer_code": lambda w: mistype(codes.generate(11))}),
    case("customers", "customers_customer_code_valid", {"customer_code": "0OI1ABCDEFG"}),
    case("customers", "customers_customer_code_length", {"customer_code": lambda w: codes.generate(9)}),
    case("customers", "customers_email_lowercase", {"email": "Ada@Example.test"}),
    case("customers", "customers_merged_into_when_merged", {"status": "merged"}),
    case("customers", "customers_merged_into_when_merged", {"merged_into_id": lambda w: w.customer.id}),
    case("loyalty_programs", "loyalty_programs_rounding_valid", {"rounding": "up"}),
    case("loyalty_programs", "loyalty_programs_points_per_dollar_nonnegative", {"points_per_dollar": Decimal("-1")}),
    case("loyalty_programs", "loyalty_programs_min_spend_nonnegative", {"min_spend_amount": Decimal("-0.01")}),
    case("loyalty_programs", "loyalty_programs_min_redemption_nonnegative", {"min_redemption_points": -1}),
    case("loyalty_programs", "loyalty_programs_point_value_positive", {"point_value": Decimal("0")}),
    case("loyalty_programs", "loyalty_programs_point_value_positive", {"point_value": Decimal("-0.01")}),
    case(
        "loyalty_programs", "loyalty_programs_max_redemption_percent_range", {"max_redemption_percent": Decimal("150")}
    ),
    case(
        "loyalty_programs",
        "loyalty_programs_max_redemption_percent_range",
        {"max_redemption_percent": Decimal("100.01")},
    ),
    case(
        "loyalty_programs", "loyalty_programs_max_redemption_percent_range", {"max_redemption_percent": Decimal("-1")}
    ),
    case("loyalty_programs", "loyalty_programs_expiry_days_positive", {"points_expiry_days": 0}),
    case("loyalty_programs", "loyalty_programs_shortfall_policy_valid", {"shortfall_policy": "forgive"}),
    case("loyalty_programs", "loyalty_programs_max_negative_points_range", {"max_negative_points": -1}),
    case("loyalty_programs", "loyalty_programs_max_negative_points_range", {"max_negative_points": 1_000_001}),
    case(  # the ledger's trigger names it first, then the CHECK
        "points_transactions",
        "points_transactions_lot_only_on_expire",
        {"transaction_type": "adjust", "lot_id": lambda w: w.lot_id},
    ),
    case("loyalty_tiers", "loyalty_tiers_min_points_nonnegative", {"min_points": -1}),
    case("loyalty_tiers", "loyalty_tiers_multiplier_range", {"multiplier": Decimal("0.99")}),
    case("loyalty_tiers", "loyalty_tiers_multiplier_range", {"multiplier": Decimal("10.01")}),
    case(  # a negative reversal takes back earned points: 10 earned, 11 taken back
        "points_transactions",
        "customer_loyalty_accounts_earned_nonnegative",
        {"transaction_type": "reverse", "points_change": -11, "transaction_id": lambda w: w.sale.id},
    ),
    case(  # a positive reversal gives back redeemed points: none were redeemed
        "points_transactions",
        "customer_loyalty_accounts_redeemed_nonnegative",
        {"transaction_type": "reverse", "points_change": 5, "transaction_id": lambda w: w.sale.id},
    ),
    case(
        "points_transactions", "points_transactions_change_nonzero", {"transaction_type": "adjust", "points_change": 0}
    ),
    case(
        "points_transactions",
        "points_transactions_sign_matches_type",
        {"transaction_type": "earn", "points_change": -3},
    ),
    case(
        "points_transactions",
        "points_transactions_sign_matches_type",
        {"transaction_type": "redeem", "points_change": 3},
    ),
    case(
        "points_transactions",
        "points_transactions_sign_matches_type",
        {"transaction_type": "expire", "points_change": 3},
    ),
    case("points_transactions", "points_transactions_transaction_type_valid", {"transaction_type": "bonus"}),
    case("transactions", "transactions_payment_method_valid", {"payment_method": "cheque"}),
    case("transactions", "transactions_amount_positive", {"amount": Decimal("0")}),
    case("transactions", "transactions_amount_positive", {"amount": Decimal("-5")}),
    case("transaction_items", "transaction_items_quantity_positive", {"quantity": 0}),
    case("transaction_items", "transaction_items_unit_price_nonnegative", {"unit_price": Decimal("-0.01")}),
    case("customer_visits", "customer_visits_count_positive", {"visit_count": 0}),
    case("system_settings", "system_settings_value_type_valid", {"value_type": "float"}),
    case("system_settings", "system_settings_value_matches_type", {"setting_value": "abc", "value_type": "integer"}),
    case("system_settings", "system_settings_value_matches_type", {"setting_value": "1.5", "value_type": "integer"}),
    case("system_settings", "system_settings_value_matches_type", {"setting_value": "", "value_type": "integer"}),
    case("system_settings", "system_settings_value_matches_type", {"setting_value": "12.", "value_type": "decimal"}),
    case("system_settings", "system_settings_value_matches_type", {"setting_value": "yes", "value_type": "boolean"}),
    case("system_settings", "system_settings_value_matches_type", {"setting_value": "True", "value_type": "boolean"}),
    case("system_settings", "system_settings_value_matches_type", {"setting_value": "{", "value_type": "json"}),
    case("system_settings", "system_settings_value_matches_type", {"setting_value": "NaN", "value_type": "json"}),
    # Valid JSON that jsonb cannot hold: the check function must say false, not fail.
    case("system_settings", "system_settings_value_matches_type", {"setting_value": '"\\u0000"', "value_type": "json"}),
    case("system_settings", "system_settings_key_format", {"setting_key": "Bad Key"}),
    case("system_settings", "system_settings_key_format", {"setting_key": "1st.key"}),
    case("system_settings", "system_settings_key_format", {"setting_key": "points-expiry"}),
    case("audit_logs", "audit_logs_action_valid", {"action": "TRUNCATE"}),
    case("qr_scan_logs", "qr_scan_logs_scan_result_valid", {"scan_result": "ok"}),
]

UNIQUES = [
    case("merchants", "merchants_business_email_key", {"business_email": lambda w: w.merchant.business_email}),
    case("merchants", "merchants_merchant_code_key", {"merchant_code": lambda w: w.merchant.merchant_code}),
    case("merchant_staff", "merchant_staff_merchant_user_unique", {"user_id": lambda w: w.owner_id}),
    case("customers", "customers_customer_code_key", {"customer_code": lambda w: w.customer.customer_code}),
    case("customers", "customers_email_key", {"email": lambda w: w.customer.email}),
    case("customers", "customers_card_token_hash_key", {"card_token_hash": lambda w: w.customer.card_token_hash}),
    case("customers", "customers_phone_key", {"phone": lambda w: w.customer.phone}),
    case(
        "transactions",
        "transactions_merchant_idempotency_key",
        {"idempotency_key": lambda w: w.sale.idempotency_key},
    ),
    case("loyalty_programs", "loyalty_programs_one_active_per_merchant", {"is_active": True}),
    case(
        "customer_loyalty_accounts",
        "customer_loyalty_accounts_customer_merchant",
        {"customer_id": lambda w: w.customer.id},
    ),
    case(
        "points_transactions",
        "points_transactions_one_earn_per_transaction",
        {"transaction_id": lambda w: w.sale.id, "transaction_type": "earn", "points_change": 3},
    ),
    case("merchant_daily_analytics", "merchant_daily_analytics_merchant_date", {"date": lambda w: w.analytics_date}),
    case("customer_visits", "customer_visits_customer_merchant_date", {"visit_date": lambda w: w.visit_date}),
    case("system_settings", "system_settings_setting_key_key", {"setting_key": lambda w: w.setting_key}),
    case("loyalty_tiers", "loyalty_tiers_program_min_points", {"min_points": 500}),
    case("loyalty_tiers", "loyalty_tiers_program_name", {"name": "Silver"}),
]

NOT_NULL = {
    "merchants": [
        "business_name",
        "business_email",
        "business_phone",
        "business_address",
        "business_type",
        "merchant_code",
        "status",
        "subscription_plan",
        "timezone",
        "currency",
        "allow_static_codes",
        "require_2fa",
    ],
    "merchant_staff": ["role", "is_active"],
    "customers": ["customer_code", "first_name", "last_name", "phone", "status"],
    "loyalty_programs": [
        "name",
        "description",
        "points_per_dollar",
        "min_spend_amount",
        "rounding",
        "min_redemption_points",
        "point_value",
        "max_redemption_percent",
        "is_active",
        "earn_on_total",
        "shortfall_policy",
        "max_negative_points",
    ],
    "loyalty_tiers": ["name", "min_points", "multiplier"],
    "customer_loyalty_accounts": [
        "current_points",
        "total_points_earned",
        "total_points_redeemed",
        "shares_email",
        "shares_phone",
    ],
    "points_transactions": ["transaction_type", "points_change", "description"],
    # currency, points_earned and points_reversed are filled by the BEFORE trigger: see BEHIND_TRIGGERS.
    "transactions": [
        "amount",
        "payment_method",
        "status",
        "external_reference",
        "description",
        "points_redeemed",
        "discount_amount",
    ],
    "transaction_items": ["product_name", "product_sku", "quantity", "unit_price"],
    "merchant_daily_analytics": [
        "date",
        "total_sales",
        "total_transactions",
        "unique_customers",
        "new_customers",
        "points_issued",
        "points_redeemed",
        "points_reversed",
        "total_refunds",
        "refund_count",
    ],
    "customer_visits": ["visit_date", "visit_count", "total_spent", "first_visit_at", "last_visit_at"],
    "system_settings": ["setting_key", "setting_value", "value_type", "description"],
    "audit_logs": ["table_name", "record_id", "action"],
    "qr_scan_logs": ["scanned_code", "scan_result", "user_agent"],
}

# Rules a trigger enforces before any constraint sees the row (check_violation or
# integrity_constraint_violation: an IntegrityError all the same).
TRIGGER_RULES = [
    pytest.param(  # one scan per sale: qr_scan_logs is partitioned, so qr_scan_sales' key holds it (a trigger)
        "qr_scan_logs",
        {"sale_id": lambda w: w.sale.id},
        'violates unique constraint "qr_scan_sales_pkey"',
        id="second-scan-for-a-sale",
    ),
    pytest.param("transactions", {"status": "refunded"}, "a new transaction cannot be refunded", id="new-refunded"),
    pytest.param("transactions", {"status": "lost"}, "a new transaction cannot be lost", id="new-unknown-status"),
    pytest.param(
        "transactions",
        {"currency": "EUR"},
        "transaction currency EUR differs from the merchant's currency USD",
        id="eur",
    ),
    pytest.param(
        "transactions",
        {"currency": "usd"},
        "transaction currency usd differs from the merchant's currency USD",
        id="usd",
    ),
    pytest.param(  # 60 points, 61 taken; the balance is kept at zero or more by the ledger's trigger
        "points_transactions",
        {"transaction_type": "adjust", "points_change": -61},
        'violates check constraint "customer_loyalty_accounts_current_points_nonnegative"',
        id="overdrawn-by-adjustment",
    ),
    pytest.param(
        "points_transactions",
        {"transaction_type": "redeem", "points_change": -61},
        'violates check constraint "customer_loyalty_accounts_current_points_nonnegative"',
        id="overdrawn-by-redemption",
    ),
    pytest.param(
        "points_transactions",
        {"transaction_type": "expire", "points_change": -1, "lot_id": "00000000-0000-0000-0000-000000000000"},
        "lot 00000000-0000-0000-0000-000000000000 is not a lot of this account",
        id="expire-unknown-lot",
    ),
    pytest.param(
        "customer_loyalty_accounts",
        {"current_points": 5},
        "points of a loyalty account change only through points_transactions",
        id="planted-points",
    ),
    pytest.param(
        "customer_loyalty_accounts",
        {"total_points_earned": 5},
        "points of a loyalty account change only through points_transactions",
        id="planted-earned",
    ),
]

# Constraints the triggers keep from ever seeing a bad value. With the triggers switched off
# (session_replication_role = replica, for this savepoint only) the constraint still refuses it.
BEHIND_TRIGGERS = [
    case("transactions", "transactions_discount_range", {"currency": "USD", "discount_amount": Decimal("-1")}),
    case("transactions", "transactions_discount_range", {"currency": "USD", "discount_amount": Decimal("6")}),
    case("customers", "customers_total_spent_nonnegative", {"total_spent": Decimal("-0.01")}),
    case("customers", "customers_total_transactions_nonnegative", {"total_transactions": -1}),
    case("customer_loyalty_accounts", "customer_loyalty_accounts_total_spent_nonnegative", {"total_spent": -1}),
    case(
        "customer_loyalty_accounts",
        "customer_loyalty_accounts_total_transactions_nonnegative",
        {"total_transactions": -1},
    ),
    case("transactions", "transactions_currency_valid", {"currency": "usd"}),
    case("transactions", "transactions_status_valid", {"currency": "USD", "status": "lost"}),
    case("transactions", "transactions_points_earned_nonnegative", {"currency": "USD", "points_earned": -1}),
    case("transactions", "transactions_points_reversed_range", {"currency": "USD", "points_reversed": 1}),
    case("transactions", "transactions_points_reversed_range", {"currency": "USD", "points_reversed": -1}),
    case("transactions", "transactions_completed_has_time", {"currency": "USD", "status": "completed"}),
    case("transactions", "transactions_completed_has_time", {"currency": "USD", "status": "refunded"}),
    case("transactions", "transactions_points_shortfall_range", {"currency": "USD", "points_shortfall": 1}),
    case("transactions", "transactions_points_shortfall_range", {"currency": "USD", "points_shortfall": -1}),
    case("transactions", "transactions_points_returned_range", {"currency": "USD", "points_returned": 1}),
    case("transactions", "transactions_points_returned_range", {"currency": "USD", "points_returned": -1}),
    case("transactions", "transactions_refunded_amount_range", {"currency": "USD", "refunded_amount": Decimal("6")}),
    case("transactions", "transactions_refunded_amount_range", {"currency": "USD", "refunded_amount": Decimal("-1")}),
    case("customer_loyalty_accounts", "customer_loyalty_accounts_earned_nonnegative", {"total_points_earned": -1}),
    case("customer_loyalty_accounts", "customer_loyalty_accounts_redeemed_nonnegative", {"total_points_redeemed": -1}),
]
# No insert breaks this one alone (sign_matches_type lists every type, and is named first): the
# ORM test test_an_unknown_ledger_type_breaks_both_type_rules shows both refuse an unknown type.
NAMED_BY_THE_ORM_TEST = set()
# A second expiry of a lot is skipped by the ledger's trigger; the unique index holds behind it
# (test_a_lot_expires_once_even_behind_the_trigger).
NAMED_BY_THE_ORM_TEST |= {"points_transactions_one_expiry_per_lot"}
# (merchant_id, id) of a sale is unique because id is: the key a line item names its sale by, and the primary key
# on Citus (loyalty_site/tests/test_scale_out.py checks the items' foreign key to it).
NAMED_BY_THE_ORM_TEST |= {"transactions_merchant_id_key"}
BEHIND_TRIGGERS_NOT_NULL = {
    "transactions": [
        "currency",
        "points_earned",
        "points_reversed",
        "points_shortfall",
        "points_returned",
        "refunded_amount",
    ],
    # totals are the triggers': a direct write of them is replaced by the kept value
    "customers": ["total_spent", "total_transactions"],
    "customer_loyalty_accounts": ["total_spent", "total_transactions"],
}


def rule_names(cases) -> set[str]:
    return {param.values[1] for param in cases}


def not_null_params(columns_by_table):
    return [
        pytest.param(table, column, id=f"{table}.{column}")
        for table, columns in columns_by_table.items()
        for column in columns
    ]


def not_null_message(table: str, column: str) -> str:
    """PostgreSQL names the partition a row of a partitioned table went to (audit_logs_p2026_12)."""
    partition = r"(_p\d{4}_\d{2}|_default)?" if table in PARTITIONED else ""
    return (
        re.escape(f'null value in column "{column}" of relation "{table}')
        + partition
        + re.escape('" violates not-null constraint')
    )


def refused(world, table, row, match, *, triggers=True):
    """Insert `row`, expect an IntegrityError matching `match`, and check nothing changed."""
    before = snapshot()
    with pytest.raises(IntegrityError, match=match):
        with transaction.atomic():
            if not triggers:
                sql("SET LOCAL session_replication_role = replica")
            insert(table, row)
    assert snapshot() == before
    assert sql("SHOW session_replication_role") == [("origin",)]


# --- the tests ---------------------------------------------------------------------------------


@pytest.mark.parametrize("table", TABLES)
def test_the_valid_row_of_every_table_is_accepted(world, table):
    before = snapshot()[table]
    insert(table, VALID_ROW[table](world))
    assert snapshot()[table] == before + 1


@pytest.mark.parametrize(("table", "constraint", "change"), CHECKS)
def test_a_value_breaking_a_check_constraint_is_refused_and_leaves_nothing_behind(world, table, constraint, change):
    refused(world, table, row_for(world, table, change), re.escape(f'violates check constraint "{constraint}"'))


@pytest.mark.parametrize(("table", "constraint", "change"), UNIQUES)
def test_a_duplicate_is_refused_by_its_unique_constraint_and_leaves_nothing_behind(world, table, constraint, change):
    refused(world, table, row_for(world, table, change), re.escape(f'violates unique constraint "{constraint}"'))


@pytest.mark.parametrize(("table", "column"), not_null_params(NOT_NULL))
def test_null_in_a_required_column_is_refused_naming_the_column_and_leaves_nothing_behind(world, table, column):
    refused(world, table, row_for(world, table, {column: None}), not_null_message(table, column))


@pytest.mark.parametrize(("table", "change", "message"), TRIGGER_RULES)
def test_a_rule_kept_by_a_trigger_raises_an_integrity_error_and_leaves_nothing_behind(world, table, change, message):
    refused(world, table, row_for(world, table, change), re.escape(message))


@pytest.mark.parametrize(("table", "constraint", "change"), BEHIND_TRIGGERS)
def test_a_check_behind_a_trigger_still_refuses_a_bad_row_on_its_own(world, table, constraint, change):
    row = row_for(world, table, change)
    refused(world, table, row, re.escape(f'violates check constraint "{constraint}"'), triggers=False)


@pytest.mark.parametrize(("table", "column"), not_null_params(BEHIND_TRIGGERS_NOT_NULL))
def test_a_column_the_trigger_fills_is_still_not_null_on_its_own(world, table, column):
    extra = {"currency": "USD"} if table == "transactions" else {}
    row = row_for(world, table, {**extra, column: None})
    refused(world, table, row, not_null_message(table, column), triggers=False)


def test_a_ledger_row_for_a_missing_account_is_refused_by_the_trigger_at_once(world):
    missing = "00000000-0000-0000-0000-000000000000"
    before = snapshot()

    with pytest.raises(IntegrityError, match=f"no loyalty account {missing}"):
        with transaction.atomic():
            # The foreign key is deferred; checked at once, it would be named if the trigger let the row by.
            sql("SET CONSTRAINTS ALL IMMEDIATE")
            insert(
                "points_transactions", row_for(world, "points_transactions", {"customer_loyalty_account_id": missing})
            )

    assert snapshot() == before


def test_a_lot_expires_once_even_behind_the_trigger(world):
    expiry = {
        "customer_loyalty_account_id": world.account_id,
        "merchant_id": world.merchant.id,  # with the triggers off, the writer names it
        "transaction_type": "expire",
        "lot_id": world.lot_id,
    }
    with transaction.atomic():
        sql("SET LOCAL session_replication_role = replica")
        insert("points_transactions", {**expiry, "points_change": -10, "balance_after": 50})
        with pytest.raises(IntegrityError, match='unique constraint "points_transactions_one_expiry_per_lot"'):
            with transaction.atomic():
                insert("points_transactions", {**expiry, "points_change": -10, "balance_after": 40})
        transaction.set_rollback(True)


def test_a_raw_insert_cannot_plant_the_derived_columns_of_a_sale(world):
    [row] = sql(
        "INSERT INTO transactions (merchant_id, customer_id, amount, points_earned, points_reversed, completed_at) "
        "VALUES (%s, %s, 5, -7, 3, now()) RETURNING points_earned, points_reversed, completed_at, currency, status",
        [world.merchant.id, world.customer.id],
    )
    assert row == (0, 0, None, "USD", "pending")


def test_a_raw_insert_cannot_plant_the_balance_after_of_a_ledger_row(world):
    [(balance_after,)] = sql(
        "INSERT INTO points_transactions (customer_loyalty_account_id, transaction_type, points_change, balance_after) "
        "VALUES (%s, 'adjust', 5, -1) RETURNING balance_after",
        [world.account_id],
    )
    assert balance_after == 65


# --- the cases cover the catalog ---------------------------------------------------------------


def test_every_check_and_unique_constraint_of_the_tables_has_a_case(db):
    in_catalog = {
        name
        for (name,) in sql(
            "SELECT conname FROM pg_constraint WHERE contype IN ('c', 'u') AND conrelid::regclass::text = ANY(%s) "
            "UNION SELECT indexrelid::regclass::text FROM pg_index "
            "WHERE indisunique AND NOT indisprimary AND indrelid::regclass::text = ANY(%s)",
            [TABLES, TABLES],
        )
    }
    covered = rule_names(CHECKS) | rule_names(UNIQUES) | rule_names(BEHIND_TRIGGERS) | NAMED_BY_THE_ORM_TEST

    assert len(in_catalog) > 50
    assert in_catalog - covered == set(), "constraints without a bad-value case"
    assert covered - in_catalog == set(), "cases naming no constraint"


def test_every_not_null_business_column_of_the_tables_has_a_case(db):
    in_catalog = set(
        sql(
            "SELECT table_name::text, column_name::text FROM information_schema.columns "
            "WHERE table_schema = 'public' AND table_name = ANY(%s) AND is_nullable = 'NO' AND is_generated = 'NEVER' "
            "AND column_name NOT IN ('created_at', 'updated_at') AND (table_name, column_name) NOT IN ("
            "    SELECT k.table_name, k.column_name FROM information_schema.key_column_usage k"
            "      JOIN information_schema.table_constraints c USING (constraint_schema, constraint_name)"
            "     WHERE c.constraint_type IN ('PRIMARY KEY', 'FOREIGN KEY'))",
            [TABLES],
        )
    )
    covered = {
        (table, column)
        for columns_by_table in (NOT_NULL, BEHIND_TRIGGERS_NOT_NULL)
        for table, columns in columns_by_table.items()
        for column in columns
    }

    assert len(in_catalog) > 60
    assert in_catalog - covered == set(), "NOT NULL columns without a case"
    assert covered - in_catalog == set(), "cases naming a nullable or unknown column"


# --- full_clean() says the same in the ORM -----------------------------------------------------


def errors_of(instance) -> dict:
    with pytest.raises(ValidationError) as error:
        instance.full_clean()
    return error.value.message_dict


def test_full_clean_refuses_an_unknown_time_zone(db):
    merchant = Merchant(business_name="Shop", business_email="shop@example.test", timezone="Mars/Olympus")
    assert errors_of(merchant) == {"timezone": ["'Mars/Olympus' is not a time zone; use a name such as Europe/Berlin."]}


def test_full_clean_refuses_a_lower_case_currency(db):
    merchant = Merchant(business_name="Shop", business_email="shop@example.test", currency="usd")
    assert errors_of(merchant) == {"__all__": ["A currency is a three-letter ISO code such as USD."]}


def test_full_clean_accepts_a_real_time_zone_and_currency(db):
    Merchant(
        business_name="Shop", business_email="shop@example.test", timezone="Europe/Berlin", currency="EUR"
    ).full_clean()


def test_full_clean_refuses_a_setting_value_that_is_not_an_integer(db):
    setting = SystemSetting(setting_key="qr.max_failed_scans", setting_value="abc", value_type="integer")
    assert errors_of(setting) == {"setting_value": ["Not a valid integer: 'abc' is not a whole number"]}


def test_full_clean_accepts_an_integer_setting(db):
    SystemSetting(setting_key="qr.max_failed_scans", setting_value="-12", value_type="integer").full_clean()


def test_full_clean_refuses_a_json_setting_postgres_cannot_store(db):
    setting = SystemSetting(setting_key="feature.flags", setting_value='"\\u0000"', value_type="json")
    # json.loads() takes it, jsonb does not: both checks refuse it.
    assert errors_of(setting) == {"setting_value": ["Not a valid json: JSON in the database cannot hold \\u0000"]}


def test_full_clean_refuses_a_redemption_share_over_100_percent(merchant):
    program = LoyaltyProgram(merchant=merchant, name="Rewards", max_redemption_percent=Decimal("150"))
    assert errors_of(program) == {
        "__all__": ["Constraint “loyalty_programs_max_redemption_percent_range” is violated."]
    }


def test_full_clean_accepts_a_redemption_share_of_100_percent(merchant):
    LoyaltyProgram(merchant=merchant, name="Rewards", max_redemption_percent=Decimal("100")).full_clean()


def test_full_clean_refuses_an_upper_case_email(db):
    customer = Customer(first_name="Ada", email="Ada@Example.test")
    assert errors_of(customer) == {"__all__": ["Store email addresses in lower case."]}


def test_full_clean_refuses_a_second_active_program(program):
    second = LoyaltyProgram(merchant=program.merchant, name="Second")
    assert errors_of(second) == {"__all__": ["This merchant already has an active loyalty program."]}


def test_full_clean_refuses_a_zero_quantity(world):
    item = TransactionItem(
        transaction=world.sale, merchant=world.merchant, product_name="Coffee", quantity=0, unit_price=Decimal("1")
    )
    assert errors_of(item) == {"__all__": ["The quantity must be at least 1."]}


def test_an_unknown_ledger_type_breaks_both_type_rules(world):
    row = PointsTransaction(customer_loyalty_account_id=world.account_id, transaction_type="bonus", points_change=5)

    with pytest.raises(ValidationError) as error:
        row.validate_constraints()

    assert sorted(error.value.messages) == [
        "Constraint “points_transactions_sign_matches_type” is violated.",
        "transaction_type must be one of: earn, redeem, reverse, expire, adjust, merge_earned, merge_redeemed, "
        "merge_lot.",
    ]
