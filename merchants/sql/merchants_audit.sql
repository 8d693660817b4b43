-- Every change of a merchants row is recorded in audit_logs, whoever makes it.
CREATE OR REPLACE TRIGGER merchants_audit
    AFTER INSERT OR DELETE OR UPDATE ON merchants
    FOR EACH ROW EXECUTE FUNCTION audit_row_change();
