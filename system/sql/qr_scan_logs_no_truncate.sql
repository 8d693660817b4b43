-- qr_scan_logs is append-only: no TRUNCATE (forbid_truncate).
CREATE OR REPLACE TRIGGER qr_scan_logs_no_truncate
    BEFORE TRUNCATE ON qr_scan_logs
    FOR EACH STATEMENT EXECUTE FUNCTION forbid_truncate();
