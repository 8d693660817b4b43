-- The personal columns of each table: the values redact_customer_logs replaces with "[redacted]" in
-- a customer's audit history, and the only ones (with audit_secret_columns) the audit_logs guard lets
-- an UPDATE redact.
CREATE OR REPLACE FUNCTION audit_personal_columns(p_table text) RETURNS text[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE p_table
        WHEN 'customers' THEN ARRAY['first_name', 'last_name', 'email', 'phone', 'date_of_birth']
        ELSE ARRAY[]::text[]
    END
$$;
