"""Daily analytics roll-up and rebuild, and the two dashboard views."""

from django.db import migrations

SQL = r"""
CREATE FUNCTION rollup_merchant_daily_analytics(p_merchant uuid DEFAULT NULL) RETURNS integer
LANGUAGE plpgsql AS $$
-- Fold pending deltas (of one merchant, or all) into merchant_daily_analytics. It takes each
-- merchant's roll-up lock, in id order: a sale only tries it (and skips when it is taken), a
-- rebuild waits for it.
DECLARE
    folded integer;
BEGIN
    PERFORM pg_advisory_xact_lock(2031, hashtext(pending.merchant_id::text))
       FROM (SELECT DISTINCT merchant_id FROM merchant_daily_analytics_deltas
              WHERE p_merchant IS NULL OR merchant_id = p_merchant ORDER BY merchant_id) pending;
    WITH moved AS (
        DELETE FROM merchant_daily_analytics_deltas
         WHERE p_merchant IS NULL OR merchant_id = p_merchant
        RETURNING *
    ), summed AS (
        SELECT merchant_id, date, sum(total_sales) AS total_sales, sum(total_transactions) AS total_transactions,
               sum(unique_customers) AS unique_customers, sum(new_customers) AS new_customers,
               sum(points_issued) AS points_issued, sum(points_redeemed) AS points_redeemed,
               sum(points_reversed) AS points_reversed, sum(total_refunds) AS total_refunds,
               sum(refund_count) AS refund_count
          FROM moved GROUP BY merchant_id, date
    ), written AS (
        INSERT INTO merchant_daily_analytics AS d
               (merchant_id, date, total_sales, total_transactions, unique_customers, new_customers,
                points_issued, points_redeemed, points_reversed, total_refunds, refund_count)
        SELECT merchant_id, date, total_sales, total_transactions, unique_customers, new_customers,
               points_issued, points_redeemed, points_reversed, total_refunds, refund_count
          FROM summed ORDER BY merchant_id, date
        ON CONFLICT (merchant_id, date) DO UPDATE
           SET total_sales = d.total_sales + EXCLUDED.total_sales,
               total_transactions = d.total_transactions + EXCLUDED.total_transactions,
               unique_customers = d.unique_customers + EXCLUDED.unique_customers,
               new_customers = d.new_customers + EXCLUDED.new_customers,
               points_issued = d.points_issued + EXCLUDED.points_issued,
               points_redeemed = d.points_redeemed + EXCLUDED.points_redeemed,
               points_reversed = d.points_reversed + EXCLUDED.points_reversed,
               total_refunds = d.total_refunds + EXCLUDED.total_refunds,
               refund_count = d.refund_count + EXCLUDED.refund_count
        RETURNING 1
    )
    SELECT count(*) INTO folded FROM written;
    RETURN folded;
END $$;

CREATE FUNCTION rebuild_merchant_daily_analytics(p_from date, p_to date, p_merchant uuid DEFAULT NULL)
RETURNS integer LANGUAGE plpgsql AS $$
-- Recompute the rows of [p_from, p_to] (merchant-local dates) from transactions and the ledger.
-- Sales count on their completion day; refunds and cancellations of completed sales on theirs.
-- One statement, so one snapshot: the deltas it drops are those of the sales it counts; sales
-- committing meanwhile keep their deltas, rolled up later. Their roll-up locks keep the
-- merchants' sales from rolling up meanwhile.
DECLARE
    written integer;
BEGIN
    PERFORM pg_advisory_xact_lock(2031, hashtext(locked.id::text))
       FROM (SELECT id FROM merchants WHERE p_merchant IS NULL OR id = p_merchant ORDER BY id) locked;
    WITH m AS (
        SELECT id, timezone FROM merchants WHERE p_merchant IS NULL OR id = p_merchant
    ), dropped_deltas AS (
        DELETE FROM merchant_daily_analytics_deltas d USING m
         WHERE d.merchant_id = m.id AND d.date BETWEEN p_from AND p_to
        RETURNING d.id
    ), sales AS (
        SELECT t.merchant_id, (t.completed_at AT TIME ZONE m.timezone)::date AS date, t.customer_id,
               t.amount, t.points_earned
          FROM transactions t JOIN m ON m.id = t.merchant_id
         WHERE t.completed_at >= p_from - interval '2 days' AND t.completed_at < p_to + interval '3 days'
    ), sales_in_range AS (
        SELECT * FROM sales WHERE date BETWEEN p_from AND p_to
    ), first_sales AS (
        -- each customer's first sale at the merchant, over all time
        SELECT t.merchant_id, t.customer_id, min(t.completed_at) AS first_at
          FROM transactions t JOIN m ON m.id = t.merchant_id
         WHERE t.completed_at IS NOT NULL
         GROUP BY t.merchant_id, t.customer_id
    ), refunds AS (
        SELECT t.merchant_id, (coalesce(t.refunded_at, t.cancelled_at) AT TIME ZONE m.timezone)::date AS date,
               t.amount, t.points_reversed
          FROM transactions t JOIN m ON m.id = t.merchant_id
         WHERE t.completed_at IS NOT NULL AND t.status IN ('refunded', 'cancelled')
           AND coalesce(t.refunded_at, t.cancelled_at) >= p_from - interval '2 days'
           AND coalesce(t.refunded_at, t.cancelled_at) < p_to + interval '3 days'
    ), redemptions AS (
        SELECT a.merchant_id, (p.created_at AT TIME ZONE m.timezone)::date AS date, -p.points_change AS points
          FROM points_transactions p
          JOIN customer_loyalty_accounts a ON a.id = p.customer_loyalty_account_id
          JOIN m ON m.id = a.merchant_id
         WHERE p.transaction_type = 'redeem'
           AND p.created_at >= p_from - interval '2 days' AND p.created_at < p_to + interval '3 days'
    ), days AS (
        SELECT merchant_id, date, sum(amount) AS total_sales, count(*) AS total_transactions,
               count(DISTINCT customer_id) AS unique_customers, sum(points_earned) AS points_issued,
               0 AS points_redeemed, 0 AS points_reversed, 0 AS total_refunds, 0 AS refund_count
          FROM sales_in_range GROUP BY merchant_id, date
        UNION ALL
        SELECT merchant_id, date, 0, 0, 0, 0, 0, sum(points_reversed), sum(amount), count(*)
          FROM refunds WHERE date BETWEEN p_from AND p_to GROUP BY merchant_id, date
        UNION ALL
        SELECT merchant_id, date, 0, 0, 0, 0, sum(points), 0, 0, 0
          FROM redemptions WHERE date BETWEEN p_from AND p_to GROUP BY merchant_id, date
    ), new_customers AS (
        SELECT f.merchant_id, (f.first_at AT TIME ZONE m.timezone)::date AS date, count(*) AS new_customers
          FROM first_sales f JOIN m ON m.id = f.merchant_id
         WHERE f.first_at >= p_from - interval '2 days' AND f.first_at < p_to + interval '3 days'
         GROUP BY 1, 2
    ), fresh AS (
        SELECT d.merchant_id, d.date, sum(d.total_sales) AS total_sales,
               sum(d.total_transactions) AS total_transactions, sum(d.unique_customers) AS unique_customers,
               coalesce(max(n.new_customers), 0) AS new_customers, sum(d.points_issued) AS points_issued,
               sum(d.points_redeemed) AS points_redeemed, sum(d.points_reversed) AS points_reversed,
               sum(d.total_refunds) AS total_refunds, sum(d.refund_count) AS refund_count
          FROM days d
          LEFT JOIN new_customers n ON n.merchant_id = d.merchant_id AND n.date = d.date
         GROUP BY d.merchant_id, d.date
    ), emptied AS (
        DELETE FROM merchant_daily_analytics a USING m
         WHERE a.merchant_id = m.id AND a.date BETWEEN p_from AND p_to
           AND NOT EXISTS (SELECT 1 FROM fresh f WHERE f.merchant_id = a.merchant_id AND f.date = a.date)
        RETURNING a.id
    )
    INSERT INTO merchant_daily_analytics AS a
           (merchant_id, date, total_sales, total_transactions, unique_customers, new_customers,
            points_issued, points_redeemed, points_reversed, total_refunds, refund_count)
    SELECT merchant_id, date, total_sales, total_transactions, unique_customers, new_customers, points_issued,
           points_redeemed, points_reversed, total_refunds, refund_count
      FROM fresh ORDER BY merchant_id, date
    ON CONFLICT (merchant_id, date) DO UPDATE
       SET total_sales = EXCLUDED.total_sales, total_transactions = EXCLUDED.total_transactions,
           unique_customers = EXCLUDED.unique_customers, new_customers = EXCLUDED.new_customers,
           points_issued = EXCLUDED.points_issued, points_redeemed = EXCLUDED.points_redeemed,
           points_reversed = EXCLUDED.points_reversed, total_refunds = EXCLUDED.total_refunds,
           refund_count = EXCLUDED.refund_count;
    GET DIAGNOSTICS written = ROW_COUNT;
    RETURN written;
END $$;

CREATE VIEW merchant_dashboard AS
SELECT m.id AS merchant_id, m.business_name, m.merchant_code, m.currency, m.timezone,
       coalesce(a.total_sales, 0) AS total_sales,
       coalesce(a.total_refunds, 0) AS total_refunds,
       coalesce(a.total_sales, 0) - coalesce(a.total_refunds, 0) AS net_sales,
       coalesce(a.total_transactions, 0)::integer AS total_transactions,
       coalesce(a.refund_count, 0)::integer AS refund_count,
       coalesce(a.new_customers, 0)::integer AS total_customers,
       coalesce(a.points_issued, 0)::integer AS points_issued,
       coalesce(a.points_redeemed, 0)::integer AS points_redeemed,
       coalesce(a.points_reversed, 0)::integer AS points_reversed,
       CASE WHEN a.total_transactions > 0 THEN round(a.total_sales / a.total_transactions, 2) ELSE 0 END
           AS average_transaction_value,
       a.first_sale_date, a.last_sale_date,
       (now() AT TIME ZONE m.timezone)::date AS today_date,
       coalesce(a.today_sales, 0) AS today_sales,
       coalesce(a.today_transactions, 0)::integer AS today_transactions,
       coalesce(a.today_customers, 0)::integer AS today_customers,
       coalesce(a.today_new_customers, 0)::integer AS today_new_customers,
       coalesce(a.today_points_issued, 0)::integer AS today_points_issued,
       coalesce(a.today_points_redeemed, 0)::integer AS today_points_redeemed
  FROM merchants m
  LEFT JOIN LATERAL (
      -- the rolled-up days plus the deltas not yet rolled up: exact, and one row per day at most
      SELECT sum(s.total_sales) AS total_sales, sum(s.total_refunds) AS total_refunds,
             sum(s.total_transactions) AS total_transactions, sum(s.refund_count) AS refund_count,
             sum(s.new_customers) AS new_customers, sum(s.points_issued) AS points_issued,
             sum(s.points_redeemed) AS points_redeemed, sum(s.points_reversed) AS points_reversed,
             min(s.date) FILTER (WHERE s.total_transactions > 0) AS first_sale_date,
             max(s.date) FILTER (WHERE s.total_transactions > 0) AS last_sale_date,
             sum(s.total_sales) FILTER (WHERE s.date = (now() AT TIME ZONE m.timezone)::date) AS today_sales,
             sum(s.total_transactions) FILTER (WHERE s.date = (now() AT TIME ZONE m.timezone)::date)
                 AS today_transactions,
             sum(s.unique_customers) FILTER (WHERE s.date = (now() AT TIME ZONE m.timezone)::date)
                 AS today_customers,
             sum(s.new_customers) FILTER (WHERE s.date = (now() AT TIME ZONE m.timezone)::date)
                 AS today_new_customers,
             sum(s.points_issued) FILTER (WHERE s.date = (now() AT TIME ZONE m.timezone)::date)
                 AS today_points_issued,
             sum(s.points_redeemed) FILTER (WHERE s.date = (now() AT TIME ZONE m.timezone)::date)
                 AS today_points_redeemed
        FROM (
            SELECT date, total_sales, total_refunds, total_transactions, refund_count, unique_customers,
                   new_customers, points_issued, points_redeemed, points_reversed
              FROM merchant_daily_analytics WHERE merchant_id = m.id
            UNION ALL
            SELECT date, total_sales, total_refunds, total_transactions, refund_count, unique_customers,
                   new_customers, points_issued, points_redeemed, points_reversed
              FROM merchant_daily_analytics_deltas WHERE merchant_id = m.id
        ) s
  ) a ON true;

CREATE VIEW customer_summary AS
SELECT a.id AS account_id, a.customer_id, a.merchant_id,
       c.customer_code, c.first_name, c.last_name, c.email, c.phone, c.status AS customer_status,
       a.created_at AS member_since,
       a.current_points, a.total_points_earned, a.total_points_redeemed,
       a.total_spent, a.total_transactions,
       CASE WHEN a.total_transactions > 0 THEN round(a.total_spent / a.total_transactions, 2) ELSE 0 END
           AS average_transaction_value,
       a.last_visit_at,
       ((now() AT TIME ZONE m.timezone)::date - (a.last_visit_at AT TIME ZONE m.timezone)::date)
           AS days_since_last_visit,
       coalesce(r.transactions_last_30_days, 0)::integer AS transactions_last_30_days,
       coalesce(r.spent_last_30_days, 0) AS spent_last_30_days,
       CASE
           WHEN c.status <> 'active' THEN c.status
           WHEN a.last_visit_at IS NULL THEN 'new'
           WHEN a.last_visit_at >= now() - interval '30 days' THEN 'active'
           WHEN a.last_visit_at >= now() - interval '90 days' THEN 'at_risk'
           ELSE 'lapsed'
       END AS loyalty_status
  FROM customer_loyalty_accounts a
  JOIN customers c ON c.id = a.customer_id
  JOIN merchants m ON m.id = a.merchant_id
  LEFT JOIN LATERAL (
      SELECT count(*) AS transactions_last_30_days, sum(t.amount) AS spent_last_30_days
        FROM transactions t
       WHERE t.customer_id = a.customer_id AND t.merchant_id = a.merchant_id
         AND t.status = 'completed' AND t.created_at >= now() - interval '30 days'
  ) r ON true;
"""

REVERSE_SQL = """
DROP VIEW customer_summary;
DROP VIEW merchant_dashboard;
DROP FUNCTION rebuild_merchant_daily_analytics(date, date, uuid);
DROP FUNCTION rollup_merchant_daily_analytics(uuid);
"""


class Migration(migrations.Migration):
    dependencies = [
        ("analytics", "0002_initial"),
        ("loyalty", "0002_initial"),
        ("transactions", "0001_initial"),
    ]
    operations = [migrations.RunSQL(SQL, REVERSE_SQL)]
