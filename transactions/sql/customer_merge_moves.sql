-- Whether the merge in progress in this transaction (app.customer_merge, set by merge_customers()
-- only while it runs) moves customer p_from's things at merchant p_merchant to customer p_to: the
-- guards of sales and accounts let a customer_id change only then.
CREATE OR REPLACE FUNCTION customer_merge_moves(p_from uuid, p_to uuid, p_merchant uuid) RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT coalesce(current_setting('app.customer_merge', true), '') <> '' AND EXISTS (
        SELECT 1 FROM customer_merges m
         WHERE m.id = nullif(current_setting('app.customer_merge', true), '')::uuid
           AND m.source_id = p_from AND m.target_id = p_to
           AND (m.merchant_id IS NULL OR m.merchant_id = p_merchant))
$$;
