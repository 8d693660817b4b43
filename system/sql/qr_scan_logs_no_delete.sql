-- Scan logs are never deleted (the rate limits, the fraud checks and each sale's scan read them):
-- old ones leave only through delete_archived_rows, once maintenance has archived them. A scan
-- still takes its sale at checkout, so updates stay allowed.
CREATE OR REPLACE TRIGGER qr_scan_logs_no_delete
    BEFORE DELETE ON qr_scan_logs
    FOR EACH ROW EXECUTE FUNCTION forbid_change();
