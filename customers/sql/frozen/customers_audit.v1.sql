-- Every change of a customers row is recorded in audit_logs, whoever makes it.
CREATE OR REPLACE TRIGGER customers_audit
    AFTER INSERT OR DELETE OR UPDATE ON customers
    FOR EACH ROW EXECUTE FUNCTION audit_row_change('total_spent', 'total_transactions', 'last_visit_at');
