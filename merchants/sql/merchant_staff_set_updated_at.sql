-- merchant_staff.updated_at is the time of the row's last change; created_at never changes.
CREATE OR REPLACE TRIGGER merchant_staff_set_updated_at
    BEFORE UPDATE ON merchant_staff
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();
