-- The trigger of audit_logs: its rows never go away and change in one way only, the redaction of
-- personal or secret values (redact_customer_logs, the redaction of old snapshots). An UPDATE passes
-- when the new row is the old one with the values of some keys of its snapshots replaced as
-- audit_redacted does, those keys all personal or secret columns of the row's table
-- (audit_personal_columns, audit_secret_columns), and every other column unchanged; any other UPDATE
-- and every DELETE raise. (delete_archived_rows deletes past it, with the table's triggers off.)
CREATE OR REPLACE FUNCTION audit_logs_guard() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    redactable text[];
    old_keys text[];
    new_keys text[];
BEGIN
    IF TG_OP = 'UPDATE' THEN
        redactable := audit_secret_columns(OLD.table_name) || audit_personal_columns(OLD.table_name);
        -- the keys whose value the UPDATE changes (or removes)
        old_keys := ARRAY(SELECT e.key FROM jsonb_each(coalesce(OLD.old_values, '{}')) e
                           WHERE e.value IS DISTINCT FROM NEW.old_values -> e.key);
        new_keys := ARRAY(SELECT e.key FROM jsonb_each(coalesce(OLD.new_values, '{}')) e
                           WHERE e.value IS DISTINCT FROM NEW.new_values -> e.key);
        IF to_jsonb(NEW) - 'old_values' - 'new_values' = to_jsonb(OLD) - 'old_values' - 'new_values'
           AND old_keys <@ redactable AND new_keys <@ redactable
           AND NEW.old_values IS NOT DISTINCT FROM audit_redacted(OLD.table_name, OLD.old_values, old_keys)
           AND NEW.new_values IS NOT DISTINCT FROM audit_redacted(OLD.table_name, OLD.new_values, new_keys) THEN
            RETURN NEW;
        END IF;
        RAISE EXCEPTION 'audit_logs is append-only: UPDATE is not allowed (but the redaction of personal or secret values)'
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RAISE EXCEPTION 'audit_logs is append-only: % is not allowed', TG_OP
        USING ERRCODE = 'integrity_constraint_violation';
END $$;
