-- Every change of a loyalty_tiers row is recorded in audit_logs, whoever makes it.
CREATE OR REPLACE TRIGGER loyalty_tiers_audit
    AFTER INSERT OR DELETE OR UPDATE ON loyalty_tiers
    FOR EACH ROW EXECUTE FUNCTION audit_row_change();
