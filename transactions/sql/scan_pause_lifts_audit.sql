-- Every lift of a scan pause is recorded in audit_logs, with who lifted it.
CREATE OR REPLACE TRIGGER scan_pause_lifts_audit
    AFTER INSERT OR DELETE OR UPDATE ON scan_pause_lifts
    FOR EACH ROW EXECUTE FUNCTION audit_row_change();
