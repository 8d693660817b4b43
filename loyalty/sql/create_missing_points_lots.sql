-- Lots for accounts that have none, as the ledger's trigger keeps them (the oldest points used
-- first): the backfill of ledgers written before lots existed, and seed_demo's bulk load.
CREATE OR REPLACE FUNCTION create_missing_points_lots(p_notice interval DEFAULT interval '30 days') RETURNS integer
LANGUAGE sql AS $$
-- Lots for accounts that have none (written before lots existed, or bulk-loaded), as the
-- ledger's trigger would have kept them: a sale's take-backs use its own lot first, then the
-- newest incoming points are the ones left (the oldest were used first). Each lot expires by
-- the merchant's program's current setting, and not within p_notice: points that never had an
-- expiry date get notice (NULL: none, for a load of history).
    WITH accounts AS (
        SELECT a.id, a.merchant_id, a.current_points
          FROM customer_loyalty_accounts a
         WHERE NOT EXISTS (SELECT 1 FROM points_lots l WHERE l.customer_loyalty_account_id = a.id)
    ), taken_back AS (
        SELECT transaction_id, -sum(points_change) AS points
          FROM points_transactions WHERE transaction_type = 'reverse' AND points_change < 0 GROUP BY 1
    ), incoming AS (
        SELECT e.id, e.customer_loyalty_account_id, e.points_change, e.created_at, a.current_points,
               a.merchant_id,
               e.points_change - CASE WHEN e.transaction_type = 'earn'
                                      THEN least(coalesce(t.points, 0), e.points_change) ELSE 0 END AS open_points
          FROM points_transactions e
          JOIN accounts a ON a.id = e.customer_loyalty_account_id
          LEFT JOIN taken_back t ON t.transaction_id = e.transaction_id
         WHERE e.points_change > 0
    ), ranked AS (
        SELECT *, coalesce(sum(open_points) OVER (PARTITION BY customer_loyalty_account_id
                                                  ORDER BY created_at DESC, id DESC
                                                  ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS newer
          FROM incoming
    ), written AS (
        INSERT INTO points_lots (customer_loyalty_account_id, merchant_id, entry_id, points, remaining, earned_at,
                                 expires_at)
        SELECT customer_loyalty_account_id, ranked.merchant_id, ranked.id, points_change,
               greatest(0, least(open_points, current_points - newer)), ranked.created_at,
               CASE WHEN program.points_expiry_days IS NOT NULL
                    THEN greatest(loyalty_lot_expiry(program.points_expiry_days, ranked.created_at), now() + p_notice)
               END
          FROM ranked
          LEFT JOIN loyalty_programs program ON program.merchant_id = ranked.merchant_id AND program.is_active
        RETURNING 1
    )
    SELECT count(*)::integer FROM written
$$;
