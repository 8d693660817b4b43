-- loyalty_programs.updated_at is the time of the row's last change; created_at never changes.
CREATE OR REPLACE TRIGGER loyalty_programs_set_updated_at
    BEFORE UPDATE ON loyalty_programs
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();
