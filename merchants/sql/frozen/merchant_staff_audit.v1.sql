-- Every change of a merchant_staff row is recorded in audit_logs, whoever makes it.
CREATE OR REPLACE TRIGGER merchant_staff_audit
    AFTER INSERT OR DELETE OR UPDATE ON merchant_staff
    FOR EACH ROW EXECUTE FUNCTION audit_row_change();
