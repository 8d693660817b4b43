-- Every change of a loyalty_programs row is recorded in audit_logs, whoever makes it.
CREATE OR REPLACE TRIGGER loyalty_programs_audit
    AFTER INSERT OR DELETE OR UPDATE ON loyalty_programs
    FOR EACH ROW EXECUTE FUNCTION audit_row_change();
