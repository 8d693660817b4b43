-- The merchant an audit row belongs to: the merchant's own row, or the merchant_id its values name
-- (its sales, accounts, programs, staff, scan pause lifts); NULL for the rows that name none (customers,
-- settings, the ledger: an account's history is found by its record). The admin filters the audit log
-- by it, through the index audit_logs_merchant_idx.
CREATE OR REPLACE FUNCTION audit_merchant_id(p_table text, p_record uuid, p_new jsonb, p_old jsonb)
RETURNS uuid
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN p_table = 'merchants' THEN p_record
                ELSE (coalesce(p_new, p_old) ->> 'merchant_id')::uuid END
$$;
