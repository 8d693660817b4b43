-- The secret columns of each table: their values never reach audit_logs. audit_row_change (through
-- audit_redacted) writes "[redacted]" in their place, keeping the key, and lists them in
-- changed_fields, so a rotation shows as a change. system/tests/test_audit_secrets.py fails when an
-- audited table has a column whose name looks secret and that is not here (or on its allow-list).
CREATE OR REPLACE FUNCTION audit_secret_columns(p_table text) RETURNS text[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE p_table
        WHEN 'customers' THEN ARRAY['card_token', 'card_token_hash']
        WHEN 'api_keys' THEN ARRAY['key_hash']
        WHEN 'users' THEN ARRAY['password']
        ELSE ARRAY[]::text[]
    END
$$;
