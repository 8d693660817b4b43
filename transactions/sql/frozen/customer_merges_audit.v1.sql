-- Every merge of two customers is recorded in audit_logs, with who merged them.
CREATE OR REPLACE TRIGGER customer_merges_audit
    AFTER INSERT OR DELETE OR UPDATE ON customer_merges
    FOR EACH ROW EXECUTE FUNCTION audit_row_change();
