-- audit_logs is append-only: its rows never go away, and an UPDATE only redacts personal or secret
-- values (audit_logs_guard).
CREATE OR REPLACE TRIGGER audit_logs_append_only
    BEFORE DELETE OR UPDATE ON audit_logs
    FOR EACH ROW EXECUTE FUNCTION audit_logs_guard();
