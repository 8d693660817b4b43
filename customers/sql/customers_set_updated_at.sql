-- customers.updated_at is the time of the row's last change; created_at never changes.
CREATE OR REPLACE TRIGGER customers_set_updated_at
    BEFORE UPDATE ON customers
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();
