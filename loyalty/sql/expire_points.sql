-- Writes the expiry of due lots: each due lot expires once, whoever runs it and how often.
-- A merchant's points expire at its local midnight: with p_local_midnight, only the lots due by
-- their merchant's latest local midnight (what the daily job writes); without, every lot due now.
CREATE OR REPLACE FUNCTION expire_points(p_limit integer DEFAULT 1000, p_local_midnight boolean DEFAULT false)
RETURNS integer LANGUAGE sql AS $$
-- Expire up to p_limit due lots, oldest due first; returns how many. Safe to run twice or at
-- once: the ledger's trigger skips a lot that has nothing left, and one expiry per lot is unique.
    WITH due AS (
        SELECT l.id, l.customer_loyalty_account_id, l.remaining, l.earned_at, m.timezone
          FROM points_lots l
          JOIN customer_loyalty_accounts a ON a.id = l.customer_loyalty_account_id
          JOIN merchants m ON m.id = a.merchant_id
         WHERE l.remaining > 0 AND l.expires_at <= now()
           AND (NOT p_local_midnight
                OR l.expires_at <= date_trunc('day', now() AT TIME ZONE m.timezone) AT TIME ZONE m.timezone)
         ORDER BY l.expires_at, l.id
         LIMIT p_limit
    ), written AS (
        INSERT INTO points_transactions (customer_loyalty_account_id, transaction_type, points_change, lot_id,
                                         description)
        SELECT customer_loyalty_account_id, 'expire', -remaining, id,
               format('Expired: points received on %s', (earned_at AT TIME ZONE timezone)::date)
          FROM due
        ON CONFLICT DO NOTHING
        RETURNING 1
    )
    SELECT count(*)::integer FROM written
$$;
