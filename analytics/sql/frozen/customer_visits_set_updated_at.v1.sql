-- customer_visits.updated_at is the time of the row's last change; created_at never changes.
CREATE OR REPLACE TRIGGER customer_visits_set_updated_at
    BEFORE UPDATE ON customer_visits
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();
