-- audit_logs is append-only: its rows never change or go away.
CREATE OR REPLACE TRIGGER audit_logs_append_only
    BEFORE DELETE OR UPDATE ON audit_logs
    FOR EACH ROW EXECUTE FUNCTION forbid_change();
