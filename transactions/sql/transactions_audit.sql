-- Every change of a transactions row is recorded in audit_logs, whoever makes it.
CREATE OR REPLACE TRIGGER transactions_audit
    AFTER INSERT OR DELETE OR UPDATE ON transactions
    FOR EACH ROW EXECUTE FUNCTION audit_row_change();
