-- The audit trigger: one audit_logs row per change, with the old and new values and the
-- acting user (app.user_id), whoever writes. The values of the table's secret columns
-- (audit_secret_columns) are written as "[redacted]" (audit_redacted); a change of one is still
-- listed in changed_fields.
CREATE OR REPLACE FUNCTION audit_row_change() RETURNS trigger LANGUAGE plpgsql AS $$
-- AFTER INSERT OR UPDATE OR DELETE: one audit_logs row with the old and new values.
-- Trigger arguments name columns whose changes alone are not worth a row.
DECLARE
    old_row jsonb;
    new_row jsonb;
    changed jsonb;
BEGIN
    IF TG_OP <> 'INSERT' THEN
        old_row := to_jsonb(OLD);
    END IF;
    IF TG_OP <> 'DELETE' THEN
        new_row := to_jsonb(NEW);
    END IF;
    IF TG_OP = 'UPDATE' THEN
        SELECT jsonb_agg(n.key ORDER BY n.key) INTO changed
          FROM jsonb_each(new_row) n
         WHERE n.value IS DISTINCT FROM old_row -> n.key AND n.key <> 'updated_at';
        IF changed IS NULL OR NOT EXISTS (
            SELECT 1 FROM jsonb_array_elements_text(changed) c(name) WHERE c.name <> ALL (coalesce(TG_ARGV, '{}'))) THEN
            RETURN NULL;
        END IF;
    END IF;
    IF cardinality(audit_secret_columns(TG_TABLE_NAME)) > 0 THEN
        old_row := audit_redacted(TG_TABLE_NAME, old_row, NULL);
        new_row := audit_redacted(TG_TABLE_NAME, new_row, NULL);
    END IF;
    INSERT INTO audit_logs (table_name, record_id, action, old_values, new_values, changed_fields, user_id)
    VALUES (TG_TABLE_NAME, (coalesce(new_row, old_row) ->> 'id')::uuid, TG_OP, old_row, new_row, changed,
            nullif(current_setting('app.user_id', true), '')::uuid);
    RETURN NULL;
END $$;
