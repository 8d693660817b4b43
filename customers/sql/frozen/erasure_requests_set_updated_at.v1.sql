-- erasure_requests.updated_at is the time of the row's last change; created_at never changes.
CREATE OR REPLACE TRIGGER erasure_requests_set_updated_at
    BEFORE UPDATE ON erasure_requests
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();
