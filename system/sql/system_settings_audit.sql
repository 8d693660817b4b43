-- Every change of a system_settings row is recorded in audit_logs, whoever makes it.
CREATE OR REPLACE TRIGGER system_settings_audit
    AFTER INSERT OR DELETE OR UPDATE ON system_settings
    FOR EACH ROW EXECUTE FUNCTION audit_row_change();
