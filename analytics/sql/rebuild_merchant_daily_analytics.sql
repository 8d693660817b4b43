-- Recomputes the daily and hourly figures of a range of local days from the sales, refunds
-- and ledger: the figures the roll-up keeps are always what this would write.
CREATE OR REPLACE FUNCTION rebuild_merchant_daily_analytics(p_from date, p_to date, p_merchant uuid DEFAULT NULL)
RETURNS integer LANGUAGE plpgsql AS $$
-- Recompute the rows of [p_from, p_to] (merchant-local dates) from transactions and the ledger.
-- Sales count on their completion day; each refund (transaction_refunds) on its own.
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
               t.amount, t.points_earned, extract(hour FROM t.completed_at AT TIME ZONE m.timezone) AS hour
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
        SELECT r.merchant_id, (r.created_at AT TIME ZONE m.timezone)::date AS date,
               r.amount, r.points_taken_back AS points_reversed
          FROM transaction_refunds r JOIN m ON m.id = r.merchant_id
         WHERE r.created_at >= p_from - interval '2 days' AND r.created_at < p_to + interval '3 days'
    ), redemptions AS (
        SELECT a.merchant_id, (p.created_at AT TIME ZONE m.timezone)::date AS date,
               ledger_points_redeemed(p.transaction_type, p.points_change) AS points
          FROM points_transactions p
          JOIN customer_loyalty_accounts a ON a.id = p.customer_loyalty_account_id
          JOIN m ON m.id = a.merchant_id
         WHERE p.transaction_type IN ('redeem', 'reverse')
           AND ledger_points_redeemed(p.transaction_type, p.points_change) <> 0
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
    ), fresh_hours AS (
        SELECT merchant_id, date, hour, count(*) AS total_transactions FROM sales_in_range GROUP BY 1, 2, 3
    ), hours_emptied AS (
        DELETE FROM merchant_hourly_analytics h USING m
         WHERE h.merchant_id = m.id AND h.date BETWEEN p_from AND p_to
           AND NOT EXISTS (SELECT 1 FROM fresh_hours f
                            WHERE (f.merchant_id, f.date, f.hour) = (h.merchant_id, h.date, h.hour))
        RETURNING h.id
    ), hours_written AS (
        INSERT INTO merchant_hourly_analytics AS h (merchant_id, date, hour, total_transactions)
        SELECT merchant_id, date, hour, total_transactions FROM fresh_hours ORDER BY 1, 2, 3
        ON CONFLICT (merchant_id, date, hour) DO UPDATE SET total_transactions = EXCLUDED.total_transactions
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
