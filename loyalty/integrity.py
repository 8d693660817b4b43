"""Checks that every figure the triggers keep equals what the transactions and the ledger say."""

from django.db import connection, transaction

EARNED = "transaction_type = 'earn' OR (transaction_type = 'reverse' AND points_change < 0)"
REDEEMED = "transaction_type = 'redeem' OR (transaction_type = 'reverse' AND points_change > 0)"

CHECKS = {
    "account points differ from its ledger": f"""
        SELECT a.id, a.current_points, coalesce(l.total, 0)
          FROM customer_loyalty_accounts a
          LEFT JOIN (SELECT customer_loyalty_account_id AS id, sum(points_change) AS total,
                            coalesce(sum(points_change) FILTER (WHERE {EARNED}), 0) AS earned,
                            coalesce(-sum(points_change) FILTER (WHERE {REDEEMED}), 0) AS redeemed
                       FROM points_transactions GROUP BY 1) l USING (id)
         WHERE (a.current_points, a.total_points_earned, a.total_points_redeemed)
               <> (coalesce(l.total, 0), coalesce(l.earned, 0), coalesce(l.redeemed, 0))""",
    "account spend differs from its sales": """
        SELECT a.id, a.total_spent, coalesce(t.spent, 0)
          FROM customer_loyalty_accounts a
          LEFT JOIN (SELECT customer_id, merchant_id,
                            sum(amount) FILTER (WHERE status = 'completed') AS spent,
                            count(*) FILTER (WHERE status = 'completed') AS sales,
                            max(completed_at) AS last_visit
                       FROM transactions WHERE completed_at IS NOT NULL GROUP BY 1, 2) t
            ON t.customer_id = a.customer_id AND t.merchant_id = a.merchant_id
         WHERE (a.total_spent, a.total_transactions) <> (coalesce(t.spent, 0), coalesce(t.sales, 0))
            OR a.last_visit_at IS DISTINCT FROM t.last_visit""",
    "customer totals differ from their sales": """
        SELECT c.id, c.total_spent, coalesce(t.spent, 0)
          FROM customers c
          LEFT JOIN (SELECT customer_id, sum(amount) AS spent, count(*) AS sales
                       FROM transactions WHERE status = 'completed' GROUP BY 1) t ON t.customer_id = c.id
         WHERE (c.total_spent, c.total_transactions) <> (coalesce(t.spent, 0), coalesce(t.sales, 0))""",
    "visits differ from the sales": """
        SELECT coalesce(v.customer_id, t.customer_id), coalesce(v.visit_date, t.visit_date), v.visit_count, t.sales
          FROM customer_visits v
          FULL JOIN (SELECT t.customer_id, t.merchant_id, (t.completed_at AT TIME ZONE m.timezone)::date AS visit_date,
                            count(*) AS sales, sum(t.amount) AS spent
                       FROM transactions t JOIN merchants m ON m.id = t.merchant_id
                      WHERE t.completed_at IS NOT NULL GROUP BY 1, 2, 3) t
            ON (t.customer_id, t.merchant_id, t.visit_date) = (v.customer_id, v.merchant_id, v.visit_date)
         WHERE v.id IS NULL OR t.customer_id IS NULL OR (v.visit_count, v.total_spent) <> (t.sales, t.spent)""",
}

ANALYTICS_ROWS = """
    SELECT merchant_id, date, total_sales, total_transactions, unique_customers, new_customers, points_issued,
           points_redeemed, points_reversed, total_refunds, refund_count
      FROM merchant_daily_analytics ORDER BY merchant_id, date
"""


class _Undo(Exception):
    pass


def derived_state_errors(limit: int = 10, analytics: bool = True) -> list[str]:
    """One line per broken figure (at most `limit` per check); empty when all agree."""
    errors = []
    with connection.cursor() as cursor:
        for name, query in CHECKS.items():
            cursor.execute(f"{query} LIMIT {int(limit)}")
            errors += [f"{name}: {row}" for row in cursor.fetchall()]
        if analytics:
            errors += [f"daily analytics differ from a rebuild: {row}" for row in analytics_differences(cursor)[:limit]]
    return errors


def analytics_differences(cursor) -> list[tuple]:
    """Rows of merchant_daily_analytics that a rebuild from the transactions would change."""
    cursor.execute("SELECT rollup_merchant_daily_analytics()")
    cursor.execute(
        "SELECT least((SELECT min(date) FROM merchant_daily_analytics),"
        "             (SELECT min(completed_at)::date - 1 FROM transactions)),"
        "       greatest((SELECT max(date) FROM merchant_daily_analytics), current_date + 1)"
    )
    first, last = cursor.fetchone()
    if first is None:
        return []
    cursor.execute(ANALYTICS_ROWS)
    live = set(cursor.fetchall())
    rebuilt = set()
    try:
        with transaction.atomic():
            cursor.execute("SELECT rebuild_merchant_daily_analytics(%s, %s)", [first, last])
            cursor.execute(ANALYTICS_ROWS)
            rebuilt = set(cursor.fetchall())
            raise _Undo
    except _Undo:
        pass
    return sorted(live ^ rebuilt, key=str)


LEDGER_CHECK = f"""
    SELECT c.customer_code, m.merchant_code, a.current_points, a.total_points_earned, a.total_points_redeemed,
           coalesce(l.total, 0), coalesce(l.earned, 0), coalesce(l.redeemed, 0)
      FROM customer_loyalty_accounts a
      JOIN customers c ON c.id = a.customer_id
      JOIN merchants m ON m.id = a.merchant_id
      LEFT JOIN (SELECT customer_loyalty_account_id AS id, sum(points_change) AS total,
                        coalesce(sum(points_change) FILTER (WHERE {EARNED}), 0) AS earned,
                        coalesce(-sum(points_change) FILTER (WHERE {REDEEMED}), 0) AS redeemed
                   FROM points_transactions GROUP BY 1) l ON l.id = a.id
     WHERE (a.current_points, a.total_points_earned, a.total_points_redeemed)
           <> (coalesce(l.total, 0), coalesce(l.earned, 0), coalesce(l.redeemed, 0))
        OR a.current_points < 0
     ORDER BY m.merchant_code, c.customer_code
"""


def ledger_errors() -> list[str]:
    """One line per account whose points or totals differ from its ledger (check_ledger)."""
    with connection.cursor() as cursor:
        cursor.execute(LEDGER_CHECK)
        rows = cursor.fetchall()
    return [
        f"customer {row[0]} at merchant {row[1]}: points {row[2]}, earned {row[3]}, redeemed {row[4]}; "
        f"the ledger says {row[5]}, {row[6]}, {row[7]}"
        for row in rows
    ]
