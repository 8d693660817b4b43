CREATE OR REPLACE FUNCTION rollup_merchant_daily_analytics(p_merchant uuid DEFAULT NULL) RETURNS integer
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
