-- An audit snapshot with the values of `p_keys` and of the table's secret columns
-- (audit_secret_columns) replaced by the string "[redacted]": only keys present with a value (a JSON
-- null stays null), every other key as it was. The one definition of a redacted snapshot: the audit
-- trigger writes it, redact_customer_logs writes it, and the audit_logs guard lets an UPDATE through
-- only when it writes exactly it.
CREATE OR REPLACE FUNCTION audit_redacted(p_table text, p_values jsonb, p_keys text[]) RETURNS jsonb
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
BEGIN
    IF jsonb_typeof(p_values) IS DISTINCT FROM 'object' THEN
        RETURN p_values;
    END IF;
    RETURN p_values || coalesce((SELECT jsonb_object_agg(k, '[redacted]'::text)
                                   FROM unnest(audit_secret_columns(p_table) || p_keys) k
                                  WHERE jsonb_typeof(p_values -> k) <> 'null'), '{}'::jsonb);
END $$;
