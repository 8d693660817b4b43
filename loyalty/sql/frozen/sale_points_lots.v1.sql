-- The lots holding a sale's earned points: the lot its earn row opened, and the lots a merge of
-- two customers moved on from it ('merge_lot' rows name the lot they came from), recursively.
-- A refund takes back from these first and writes off what of them expired.
CREATE OR REPLACE FUNCTION sale_points_lots(p_sale uuid) RETURNS SETOF uuid
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN QUERY
    WITH RECURSIVE lots (id) AS (
        SELECT l.id
          FROM points_transactions e JOIN points_lots l ON l.entry_id = e.id
         WHERE e.transaction_id = p_sale AND e.transaction_type = 'earn'
         UNION
        SELECT l.id
          FROM lots
          JOIN points_transactions m ON m.lot_id = lots.id AND m.transaction_type = 'merge_lot'
          JOIN points_lots l ON l.entry_id = m.id
    )
    SELECT lots.id FROM lots;
END $$;
