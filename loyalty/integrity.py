"""Checks that every figure the triggers keep equals what the transactions and the ledger say."""

from django.db import connection, transaction

CHECKS = {
    "account spend differs from its sales": """
        SELECT a.id, a.total_spent, coalesce(t.spent, 0)
          FROM customer_loyalty_accounts a
          LEFT JOIN (SELECT customer_id, merchant_id,
                            sum(amount - refunded_amount) FILTER (WHERE status = 'completed') AS spent,
                            count(*) FILTER (WHERE status = 'completed') AS sales,
                            max(completed_at) AS last_visit
                       FROM transactions WHERE completed_at IS NOT NULL GROUP BY 1, 2) t
            ON t.customer_id = a.customer_id AND t.merchant_id = a.merchant_id
         WHERE (a.total_spent, a.total_transactions) <> (coalesce(t.spent, 0), coalesce(t.sales, 0))
            OR a.last_visit_at IS DISTINCT FROM t.last_visit""",
    "customer totals differ from their sales": """
        SELECT c.id, c.total_spent, coalesce(t.spent, 0)
          FROM customers c
          LEFT JOIN (SELECT customer_id, sum(amount - refunded_amount) AS spent, count(*) AS sales
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
    SELECT merchant_id, date, NULL::smallint, total_sales, total_transactions, unique_customers, new_customers,
           points_issued, points_redeemed, points_reversed, total_refunds, refund_count
      FROM merchant_daily_analytics
     UNION ALL
    SELECT merchant_id, date, hour, NULL, total_transactions, NULL, NULL, NULL, NULL, NULL, NULL, NULL
      FROM merchant_hourly_analytics
     ORDER BY 1, 2, 3
"""


class _Undo(Exception):
    pass


def derived_state_errors(limit: int = 10, analytics: bool = True, ledger: bool = True) -> list[str]:
    """One line per broken figure (at most `limit` per check): check_ledger's checks of points, lots and
    sales (unless `ledger` is false), then totals, visits and the daily figures against the sales; empty
    when all agree."""
    errors = ledger_errors(limit) if ledger else []
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


ACCOUNT = """
    SELECT c.customer_code || ' at merchant ' || m.merchant_code
      FROM customer_loyalty_accounts a JOIN customers c ON c.id = a.customer_id JOIN merchants m ON m.id = a.merchant_id
     WHERE a.id = {account}
"""

# (what is wrong, a query of (account id, details) rows). Each names the accounts it finds.
LEDGER_CHECKS = {
    "points and totals differ from the ledger": """
        SELECT a.id, format('points %s, earned %s, redeemed %s; the ledger says %s, %s, %s',
                            a.current_points, a.total_points_earned, a.total_points_redeemed,
                            coalesce(l.total, 0), coalesce(l.earned, 0), coalesce(l.redeemed, 0))
          FROM customer_loyalty_accounts a
          LEFT JOIN (SELECT customer_loyalty_account_id AS id, sum(points_change) AS total,
                            sum(ledger_points_earned(transaction_type, points_change)) AS earned,
                            sum(ledger_points_redeemed(transaction_type, points_change)) AS redeemed
                       FROM points_transactions GROUP BY 1) l ON l.id = a.id
         WHERE (a.current_points, a.total_points_earned, a.total_points_redeemed)
               <> (coalesce(l.total, 0), coalesce(l.earned, 0), coalesce(l.redeemed, 0))""",
    # A merge's totals rows add up to zero on each account: they may pass below zero (apply_points_change).
    "a row other than a refund's take-back left the balance below zero": """
        SELECT customer_loyalty_account_id, format('%s of %s points left %s', transaction_type, points_change,
                                                   balance_after)
          FROM points_transactions
         WHERE balance_after < 0 AND points_change < 0
           AND transaction_type NOT IN ('reverse', 'merge_earned', 'merge_redeemed')
    """,
    "open lots differ from the balance": """
        SELECT a.id, format('points %s; its lots hold %s', a.current_points, coalesce(l.held, 0))
          FROM customer_loyalty_accounts a
          LEFT JOIN (SELECT customer_loyalty_account_id AS id, sum(remaining) AS held FROM points_lots GROUP BY 1) l
            ON l.id = a.id
         WHERE greatest(a.current_points, 0) <> coalesce(l.held, 0)""",
    "a lot is over-consumed or unlike the ledger row that opened it": """
        SELECT l.customer_loyalty_account_id, format('lot %s: %s points, %s left, from a ledger row of %s (%s)',
                                                     l.id, l.points, l.remaining, e.points_change, e.transaction_type)
          FROM points_lots l
          JOIN points_transactions e ON e.id = l.entry_id
          LEFT JOIN transactions t ON t.id = e.transaction_id AND e.transaction_type = 'earn'
         WHERE l.remaining < 0 OR l.remaining > l.points OR l.points <> e.points_change
            OR e.customer_loyalty_account_id <> l.customer_loyalty_account_id
            -- a refund's take-back uses its own sale's lot first
            OR l.remaining > l.points - coalesce(t.points_reversed, 0)""",
    # The triggers write the account's merchant; a bulk load with the triggers off writes its own.
    "a ledger row or lot names another merchant than its account's": """
        SELECT r.customer_loyalty_account_id, format('%s %s names merchant %s', r.kind, r.id, r.merchant_id)
          FROM (SELECT 'ledger row' AS kind, id, customer_loyalty_account_id, merchant_id FROM points_transactions
                UNION ALL
                SELECT 'lot', id, customer_loyalty_account_id, merchant_id FROM points_lots) r
          JOIN customer_loyalty_accounts a ON a.id = r.customer_loyalty_account_id
         WHERE r.merchant_id <> a.merchant_id""",
    "points came in without a lot": """
        SELECT e.customer_loyalty_account_id, format('ledger row %s of %s points', e.id, e.points_change)
          FROM points_transactions e
         WHERE e.points_change > 0 AND NOT EXISTS (SELECT 1 FROM points_lots l WHERE l.entry_id = e.id)""",
    "an expiry is unlike its lot": """
        SELECT e.customer_loyalty_account_id, format('expiry %s of %s points: its lot has %s, %s left, due %s',
                                                     e.id, -e.points_change, l.points, l.remaining, l.expires_at)
          FROM points_transactions e JOIN points_lots l ON l.id = e.lot_id
         WHERE e.transaction_type = 'expire'
           AND (-e.points_change > l.points OR l.remaining <> 0 OR l.expires_at IS NULL OR l.expires_at > e.created_at
                OR l.customer_loyalty_account_id <> e.customer_loyalty_account_id)""",
    "a sale's points differ from its ledger rows": """
        SELECT a.id, format('sale %s: earned %s, redeemed %s, taken back %s, given back %s; '
                            'the ledger says %s, %s, %s, %s',
                            t.id, t.points_earned, t.points_redeemed, t.points_reversed, t.points_returned,
                            coalesce(l.earned, 0), coalesce(l.redeemed, 0), coalesce(l.taken, 0), coalesce(l.given, 0))
          FROM transactions t
          JOIN customer_loyalty_accounts a ON a.customer_id = t.customer_id AND a.merchant_id = t.merchant_id
          LEFT JOIN (SELECT transaction_id,
                            sum(points_change) FILTER (WHERE transaction_type = 'earn') AS earned,
                            -sum(points_change) FILTER (WHERE transaction_type = 'redeem') AS redeemed,
                            -sum(points_change) FILTER (WHERE transaction_type = 'reverse' AND points_change < 0)
                                AS taken,
                            sum(points_change) FILTER (WHERE transaction_type = 'reverse' AND points_change > 0)
                                AS given
                       FROM points_transactions WHERE transaction_id IS NOT NULL GROUP BY 1) l
            ON l.transaction_id = t.id
         WHERE (t.points_earned, t.points_redeemed, t.points_reversed, t.points_returned)
               <> (coalesce(l.earned, 0), coalesce(l.redeemed, 0), coalesce(l.taken, 0), coalesce(l.given, 0))""",
    "a sale's refunds differ from the sale": """
        SELECT a.id, format('sale %s: refunded %s, taken back %s, given back %s, short %s; '
                            'its refunds say %s, %s, %s, %s',
                            t.id, t.refunded_amount, t.points_reversed, t.points_returned, t.points_shortfall,
                            coalesce(r.amount, 0), coalesce(r.taken, 0), coalesce(r.given, 0), coalesce(r.short, 0))
          FROM transactions t
          JOIN customer_loyalty_accounts a ON a.customer_id = t.customer_id AND a.merchant_id = t.merchant_id
          LEFT JOIN (SELECT transaction_id, sum(amount) FILTER (WHERE kind = 'refund') AS amount,
                            sum(points_taken_back) AS taken, sum(points_given_back) AS given,
                            sum(points_shortfall) AS short
                       FROM transaction_refunds GROUP BY 1) r ON r.transaction_id = t.id
         WHERE (t.refunded_amount, t.points_reversed, t.points_returned, t.points_shortfall)
               <> (coalesce(r.amount, 0), coalesce(r.taken, 0), coalesce(r.given, 0), coalesce(r.short, 0))""",
    # Each sale against the program in force when its points were written (its earn row's time, else its
    # completion): the program's versions in audit_logs, each from its time until the next one, the first
    # from the program's creation; a program without history, its row today. An edit's row carries its
    # statement's time, and sales until its transaction committed saw the version before: that one passes
    # too for a minute. The multiplier is x1 before the program's first tier, its tier's when the tiers
    # have not changed since, and not known otherwise. The points of the last 12 months are those of the
    # account that holds the sale's earn row (a sale moved by a merge of two customers keeps the history it
    # was judged on), else of the sale's customer's account at the merchant.
    "a sale's points differ from what its program and tier gave": """
        WITH history AS (
            SELECT DISTINCT ON (l.record_id, l.created_at) l.record_id AS program_id, l.created_at AS at,
                   jsonb_populate_record(NULL::loyalty_programs, l.new_values) AS program
              FROM audit_logs l
             WHERE l.table_name = 'loyalty_programs' AND l.action <> 'DELETE'
             ORDER BY l.record_id, l.created_at, l.id
        ), versions AS (
            SELECT (h.program).merchant_id, h.program_id, h.program,
                   lag(h.program) OVER w AS previous,
                   CASE WHEN row_number() OVER w = 1 THEN least(coalesce(p.created_at, (h.program).created_at), h.at)
                        ELSE h.at END AS since,
                   lead(h.at, 1, 'infinity') OVER w AS until
              FROM history h LEFT JOIN loyalty_programs p ON p.id = h.program_id
            WINDOW w AS (PARTITION BY h.program_id ORDER BY h.at)
             UNION ALL
            SELECT p.merchant_id, p.id, p, NULL, p.created_at, 'infinity'
              FROM loyalty_programs p WHERE NOT EXISTS (SELECT 1 FROM history h WHERE h.program_id = p.id)
        ), tiers AS (
            SELECT program_id, min(at) AS first_tier, max(at) AS last_change
              FROM (SELECT program_id, created_at AS at FROM loyalty_tiers
                     UNION ALL
                    SELECT (coalesce(new_values, old_values) ->> 'program_id')::uuid, created_at FROM audit_logs
                     WHERE table_name = 'loyalty_tiers') changes
             GROUP BY program_id
        ), judged AS (
            SELECT s.id, s.customer_id, s.merchant_id, s.points_earned, s.points_rate, s.points_multiplier,
                   s.amount, s.discount_amount,
                   CASE WHEN (v.program).is_active THEN v.program END AS program,
                   CASE WHEN (v.program).is_active THEN v.program_id END AS program_id,
                   CASE WHEN (v.previous).is_active AND s.at < v.since + interval '1 minute' THEN v.previous END
                       AS previous,
                   CASE WHEN v.program_id IS NULL THEN NULL
                        WHEN r.first_tier IS NULL OR r.first_tier > s.at THEN 1
                        WHEN r.last_change >= s.at THEN s.points_multiplier
                        ELSE coalesce((loyalty_tier_for(v.program_id, (
                            SELECT coalesce(sum(ledger_points_earned(e.transaction_type, e.points_change)), 0)
                              FROM customer_loyalty_accounts a
                              JOIN points_transactions e ON e.customer_loyalty_account_id = a.id
                             WHERE a.id = coalesce(s.earn_account, (
                                       SELECT o.id FROM customer_loyalty_accounts o
                                        WHERE o.customer_id = s.customer_id AND o.merchant_id = s.merchant_id))
                               AND e.created_at > s.at - interval '12 months' AND e.created_at < s.at
                               AND e.transaction_type IN ('earn', 'reverse')
                               AND e.transaction_id IS DISTINCT FROM s.id)::integer)).multiplier, 1)
                   END AS multiplier
              FROM (SELECT t.*, coalesce(e.created_at, t.completed_at) AS at,
                           e.customer_loyalty_account_id AS earn_account
                      FROM transactions t
                      LEFT JOIN points_transactions e ON e.transaction_id = t.id AND e.transaction_type = 'earn'
                     WHERE t.completed_at IS NOT NULL) s
              LEFT JOIN versions v
                     ON v.merchant_id = s.merchant_id AND s.at >= v.since AND s.at < v.until
                    AND ((v.program).is_active OR ((v.previous).is_active AND s.at < v.since + interval '1 minute'))
              LEFT JOIN tiers r ON r.program_id = v.program_id
        ), gave AS (
            SELECT j.*, coalesce(loyalty_sale_points(j.program, j.amount, j.discount_amount, j.multiplier), 0)
                            AS points,
                   loyalty_sale_points(j.previous, j.amount, j.discount_amount, j.multiplier) AS points_before
              FROM judged j
        )
        SELECT (SELECT a.id FROM customer_loyalty_accounts a
                 WHERE a.customer_id = g.customer_id AND a.merchant_id = g.merchant_id),
               format('sale %s: %s points at %s a unit (x%s); its program gave %s at %s (x%s)',
                      g.id, g.points_earned, g.points_rate, g.points_multiplier, g.points,
                      (g.program).points_per_dollar, CASE WHEN g.program_id IS NOT NULL THEN g.multiplier END)
          FROM gave g
         WHERE (g.points_rate, g.points_multiplier, g.points_earned)
               IS DISTINCT FROM ((g.program).points_per_dollar,
                                 CASE WHEN g.program_id IS NOT NULL THEN g.multiplier END, g.points)
           AND ((g.previous).id IS NULL
                OR (g.points_rate, g.points_multiplier, g.points_earned)
                   IS DISTINCT FROM ((g.previous).points_per_dollar, g.multiplier, g.points_before))
    """,
}


def ledger_problems(limit: int = 1000) -> list[tuple[str, str, str]]:
    """(account, problem, details) for check_ledger: accounts and lots against the ledger, sales against theirs."""
    problems = []
    with connection.cursor() as cursor:
        for problem, query in LEDGER_CHECKS.items():
            cursor.execute(
                f"SELECT ({ACCOUNT.format(account='broken.account')}), broken.details "
                f"FROM ({query}) AS broken (account, details) ORDER BY 1, 2 LIMIT {int(limit)}"
            )
            problems += [(account, problem, details) for account, details in cursor.fetchall()]
    return problems


def ledger_errors(limit: int = 1000) -> list[str]:
    return [f"customer {account}: {problem}: {details}" for account, problem, details in ledger_problems(limit)]
