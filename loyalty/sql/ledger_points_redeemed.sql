-- The points a ledger row adds to the account's "redeemed" total: a `redeem` row's points, less
-- what a refund's `reverse` row gives back; a `merge_redeemed` row moves a merged account's total.
-- Triggers, rebuilds, checks and the demo loader count redeemed points through this function only.
CREATE OR REPLACE FUNCTION ledger_points_redeemed(transaction_type text, points_change integer) RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN transaction_type IN ('redeem', 'merge_redeemed')
                  OR (transaction_type = 'reverse' AND points_change > 0)
                THEN -points_change ELSE 0 END
$$;
