"""The dashboard's main queries are served by the indexes chosen for them (EXPLAIN)."""

import json

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.models import Count

from merchants.models import Merchant


@pytest.fixture
def demo(db):
    call_command("seed_demo", merchants=40, customers=200, transactions=4000, verbosity=0, no_logins=True)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
        cursor.execute("SET LOCAL enable_seqscan = off")  # prove the index serves the query, whatever the size
        cursor.execute("SET LOCAL enable_bitmapscan = off")  # at this size a bitmap of any index on merchant_id ties
    # a typical merchant: the median by number of sales
    merchants = list(Merchant.objects.annotate(sales=Count("transactions")).order_by("sales"))
    return merchants[len(merchants) // 2]


def plan(query: str, params) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (FORMAT JSON) {query}", params)
        return json.dumps(cursor.fetchone()[0])


def nodes(plan_json: str, key: str) -> set[str]:
    found = set()

    def walk(node):
        if isinstance(node, dict):
            if key in node:
                found.add(node[key])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(json.loads(plan_json))
    return found


@pytest.mark.parametrize(
    ("name", "query", "index", "sorted_by_index"),
    [
        (
            "recent transactions",
            "SELECT t.*, c.first_name, c.last_name FROM transactions t JOIN customers c ON t.customer_id = c.id "
            "WHERE t.merchant_id = %(merchant)s ORDER BY t.created_at DESC LIMIT 10",
            "tx_merchant_created_idx",
            True,
        ),
        (
            "transactions by status",
            "SELECT * FROM transactions WHERE merchant_id = %(merchant)s AND status = 'refunded' "
            "ORDER BY created_at DESC LIMIT 25",
            "tx_merchant_status_idx",
            False,
        ),
        (
            "loyalty status",
            "SELECT c.*, cla.current_points, cla.total_points_earned FROM customers c "
            "LEFT JOIN customer_loyalty_accounts cla ON c.id = cla.customer_id WHERE cla.merchant_id = %(merchant)s "
            "ORDER BY cla.current_points DESC LIMIT 25",
            "cla_merchant_points_id_idx",
            False,
        ),
        (
            "the customers list's order (customer_summary: points, then account)",
            "SELECT * FROM customer_loyalty_accounts WHERE merchant_id = %(merchant)s "
            "ORDER BY current_points DESC, id LIMIT 25",
            "cla_merchant_points_id_idx",
            True,
        ),
        (
            "daily analytics",
            "SELECT * FROM merchant_daily_analytics WHERE merchant_id = %(merchant)s "
            "AND date >= CURRENT_DATE - INTERVAL '30 days' ORDER BY date DESC",
            "merchant_daily_analytics_merchant_date",
            False,
        ),
        (
            "dashboard view",
            "SELECT * FROM merchant_dashboard WHERE merchant_id = %(merchant)s",
            "merchant_daily_analytics_merchant_date",
            False,
        ),
        (
            "customer summary",
            "SELECT * FROM customer_summary WHERE merchant_id = %(merchant)s AND customer_id = %(customer)s",
            "tx_customer_created_idx",
            False,
        ),
        (
            "customer by code",
            "SELECT * FROM customers WHERE customer_code = %(code)s",
            "customers_customer_code_key",
            False,
        ),
        (
            "an account's ledger",
            "SELECT * FROM points_transactions WHERE customer_loyalty_account_id = %(account)s "
            "ORDER BY created_at DESC LIMIT 25",
            "pt_account_created_idx",
            True,
        ),
        (
            "a merchant's visits",
            "SELECT extract(dow FROM visit_date), sum(visit_count) FROM customer_visits "
            "WHERE merchant_id = %(merchant)s AND visit_date >= CURRENT_DATE - 90 GROUP BY 1",
            "cv_merchant_date_idx",
            False,
        ),
        (
            "the dashboard's weekday-by-hour chart",
            "SELECT extract(isodow FROM date), hour, sum(total_transactions) FROM merchant_hourly_analytics "
            "WHERE merchant_id = %(merchant)s AND date BETWEEN CURRENT_DATE - 29 AND CURRENT_DATE GROUP BY 1, 2",
            "merchant_hourly_analytics_key",
            False,
        ),
        (
            "an account's open lots, oldest first",
            "SELECT id, remaining FROM points_lots WHERE customer_loyalty_account_id = %(account)s AND remaining > 0 "
            "ORDER BY earned_at",
            "pl_account_open_idx",
            True,
        ),
    ],
)
def test_query_uses_its_index(demo, name, query, index, sorted_by_index):
    account = demo.loyalty_accounts.order_by("-current_points").first()
    params = {
        "merchant": demo.id,
        "customer": account.customer_id,
        "account": account.id,
        "code": account.customer.customer_code,
    }

    explained = plan(query, params)

    assert index in nodes(explained, "Index Name"), f"{name}: {explained}"
    assert "Seq Scan" not in nodes(explained, "Node Type"), f"{name}: {explained}"
    if sorted_by_index:
        sorts = {"Sort", "Incremental Sort"} & nodes(explained, "Node Type")
        assert not sorts, f"{name} sorts instead of reading the index in order"
