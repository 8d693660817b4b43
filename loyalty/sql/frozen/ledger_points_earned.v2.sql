-- The points a ledger row adds to the account's "earned" total: an `earn` row's points, less
-- what a refund's `reverse` row takes back; a `merge_earned` row moves a merged account's total.
-- Triggers, rebuilds, checks and the demo loader count earned points through this function only.
CREATE OR REPLACE FUNCTION ledger_points_earned(transaction_type text, points_change integer) RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN transaction_type IN ('earn', 'merge_earned')
                  OR (transaction_type = 'reverse' AND points_change < 0)
                THEN points_change ELSE 0 END
$$;
