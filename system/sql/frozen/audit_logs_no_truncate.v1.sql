-- audit_logs is append-only: no TRUNCATE (forbid_truncate).
CREATE OR REPLACE TRIGGER audit_logs_no_truncate
    BEFORE TRUNCATE ON audit_logs
    FOR EACH STATEMENT EXECUTE FUNCTION forbid_truncate();
