-- Every change of an erasure request (asked, confirmed, declined) is recorded in audit_logs.
CREATE OR REPLACE TRIGGER erasure_requests_audit
    AFTER INSERT OR DELETE OR UPDATE ON erasure_requests
    FOR EACH ROW EXECUTE FUNCTION audit_row_change();
