-- Whether the merge in progress in this transaction (app.customer_merge, set by merge_customers()
-- only while it runs) is of customer p_customer, as source or target: the guards of the totals
-- that only triggers write let the merge move them.
CREATE OR REPLACE FUNCTION customer_merge_touches(p_customer uuid) RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT coalesce(current_setting('app.customer_merge', true), '') <> '' AND EXISTS (
        SELECT 1 FROM customer_merges m
         WHERE m.id = nullif(current_setting('app.customer_merge', true), '')::uuid
           AND p_customer IN (m.source_id, m.target_id))
$$;
